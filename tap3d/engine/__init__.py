"""Engine extensions: hooks, log processor, distributed helpers (registered on import)."""
from . import hooks
from .distributed import DeviceAgnosticDDP, init_cpu_distributed, shutdown_distributed
from .log_processor import ExactEvalLogProcessor
from .optim_wrapper import AmpOptimWrapper

__all__ = [
    'hooks', 'AmpOptimWrapper', 'DeviceAgnosticDDP', 'ExactEvalLogProcessor',
    'init_cpu_distributed', 'shutdown_distributed'
]
