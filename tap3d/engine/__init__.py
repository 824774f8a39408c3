"""Engine extensions: the runner, hooks, log processor, optimizer constructor and
distributed helpers (registered on import)."""
from . import hooks
from .distributed import DeviceAgnosticDDP, init_cpu_distributed, shutdown_distributed
from .log_processor import ExactEvalLogProcessor
from .optim_constructor import FilterDecayOptimWrapperConstructor
from .optim_wrapper import DeviceAgnosticAmpOptimWrapper
from .runner import Tap3DRunner, build_runner

__all__ = [
    'hooks', 'DeviceAgnosticAmpOptimWrapper', 'DeviceAgnosticDDP', 'ExactEvalLogProcessor',
    'FilterDecayOptimWrapperConstructor', 'Tap3DRunner', 'build_runner', 'init_cpu_distributed',
    'shutdown_distributed'
]
