"""Engine extensions: the runner, hooks and distributed helpers (registered on import)."""
from . import hooks
from .distributed import DeviceAgnosticDDP, init_cpu_distributed, shutdown_distributed
from .optim_constructor import FilterDecayOptimWrapperConstructor
from .optim_wrapper import DeviceAgnosticAmpOptimWrapper
from .runner import Tap3DRunner, build_runner

__all__ = [
    'hooks', 'DeviceAgnosticAmpOptimWrapper', 'FilterDecayOptimWrapperConstructor',
    'DeviceAgnosticDDP', 'Tap3DRunner', 'build_runner', 'init_cpu_distributed',
    'shutdown_distributed'
]
