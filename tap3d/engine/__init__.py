"""Engine extensions: hooks and distributed helpers (registered on import)."""
from . import hooks
from .distributed import DeviceAgnosticDDP, init_cpu_distributed

__all__ = ['hooks', 'DeviceAgnosticDDP', 'init_cpu_distributed']
