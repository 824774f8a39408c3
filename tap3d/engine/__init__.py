"""Engine extensions: hooks and distributed helpers (registered on import)."""
from . import hooks
from .distributed import DeviceAgnosticDDP, init_cpu_distributed, shutdown_distributed
from .optim_wrapper import AmpOptimWrapper

__all__ = [
    'hooks', 'AmpOptimWrapper', 'DeviceAgnosticDDP', 'init_cpu_distributed', 'shutdown_distributed'
]
