"""Checkpoints that load safely and survive crashes.

* torch >= 2.6 loads with ``weights_only=True``. mmengine's training checkpoints hold
  a few non-tensor objects (numpy scalars/arrays in the message hub, mmengine's
  ``HistoryBuffer`` and ``ConfigDict``), so its resume fails there. Instead of turning
  ``weights_only`` off, :func:`register_checkpoint_safe_globals` allow-lists exactly
  those types.
* mmengine writes a checkpoint with a plain ``open(path, 'wb')``: a crash in
  mid-save destroys the file. :class:`AtomicLocalBackend` replaces the local storage
  backend so that every file is written to a temporary sibling, flushed, fsynced and
  then renamed over the target (``os.replace`` is atomic on POSIX and Windows).
"""
import os
import os.path as osp
import tempfile
from typing import Union

import numpy as np
import torch
from mmengine.fileio.backends import LocalBackend, register_backend

_REGISTERED = {'safe_globals': False, 'backend': False}


def atomic_write_bytes(data: bytes, filepath: Union[str, os.PathLike]) -> None:
    """Write ``data`` to ``filepath`` atomically (temp file + fsync + rename)."""
    filepath = str(filepath)
    dirname = osp.dirname(osp.abspath(filepath))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', suffix='.tmp',
                                    dir=dirname)
    try:
        # mkstemp creates the file private (0600); give it the user's usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, filepath)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise


class AtomicLocalBackend(LocalBackend):
    """mmengine's local storage backend with atomic ``put``/``put_text``."""

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, os.PathLike],
                 encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)


def register_atomic_local_backend() -> None:
    """Make mmengine write every local file (checkpoints included) atomically."""
    if not _REGISTERED['backend']:
        register_backend('local', AtomicLocalBackend, force=True, prefixes='')
        _REGISTERED['backend'] = True


def _numpy_multiarray():
    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    return multiarray


def _checkpoint_safe_types() -> list:
    """The non-tensor types found in mmengine's training checkpoints."""
    from mmengine.config import ConfigDict
    from mmengine.logging import HistoryBuffer

    multiarray = _numpy_multiarray()
    # numpy >= 1.25 pickles dtypes through their concrete classes (Float64DType, ...).
    dtype_classes = [type(np.dtype(t)) for t in (
        np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
        np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)]
    # checkpoints written under numpy 1.x name the reconstructors by their old path
    aliases = [(multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
               (multiarray.scalar, 'numpy.core.multiarray.scalar')]
    return [HistoryBuffer, ConfigDict, np.ndarray, np.dtype, multiarray._reconstruct,
            multiarray.scalar] + dtype_classes + aliases


def register_checkpoint_safe_globals() -> None:
    """Allow-list the non-tensor types that mmengine checkpoints contain.

    Only these types become loadable with ``torch.load(weights_only=True)``;
    arbitrary pickled code still is not. Registration is process-wide; do not wrap
    loads of the same types in ``torch.serialization.safe_globals(...)``, whose exit
    removes them again.
    """
    if not _REGISTERED['safe_globals']:
        torch.serialization.add_safe_globals(_checkpoint_safe_types())
        _REGISTERED['safe_globals'] = True


def load_checkpoint_file(filename: str, map_location: Union[str, torch.device] = 'cpu'
                         ) -> dict:
    """Load a checkpoint with ``weights_only=True`` and a clear error if it is bad.

    Args:
        filename: path of a ``.pth`` file.
        map_location: forwarded to :func:`torch.load`.

    Returns:
        The checkpoint dict.
    """
    register_checkpoint_safe_globals()
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise RuntimeError(f'cannot load checkpoint {filename}: {err}') from err


__all__ = [
    'AtomicLocalBackend', 'atomic_write_bytes', 'register_atomic_local_backend',
    'register_checkpoint_safe_globals', 'load_checkpoint_file'
]
