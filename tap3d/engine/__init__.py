"""Engine extensions: hooks (importing this package registers them in HOOKS)."""
from . import hooks

__all__ = ['hooks']
