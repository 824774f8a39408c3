from .checkpoint import (
                         AtomicLocalBackend,
                         atomic_write_bytes,
                         load_checkpoint_file,
                         register_atomic_local_backend,
                         register_checkpoint_safe_globals,
)
from .setup_env import register_all_modules

__all__ = [
    'AtomicLocalBackend', 'atomic_write_bytes', 'load_checkpoint_file',
    'register_atomic_local_backend', 'register_checkpoint_safe_globals',
    'register_all_modules'
]
