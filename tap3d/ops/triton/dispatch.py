"""The one place that decides whether a point op runs its Triton kernel.

The public ops :func:`tap3d.ops.furthest_point_sample`, :func:`tap3d.ops.knn`
(and so :func:`tap3d.ops.three_nn`), :func:`tap3d.ops.knn_offset` and
:func:`tap3d.ops.ball_query` check their arguments, then ask
:func:`use_triton`; when it says yes they return the kernel's result,
otherwise the torch code runs. The environment variable ``TAP3D_TRITON``
(read at every call) sets the policy:

- unset, ``auto`` or ``1``: CUDA tensors use the kernels when ``triton``
  imports (it ships with the CUDA builds of torch); CPU tensors never do;
- ``0``: never, the torch ops everywhere;
- ``interpret``: CPU tensors too, through Triton's interpreter (slow: for
  tests and for checking the kernels on a machine without a GPU); needs
  ``TRITON_INTERPRET=1`` set before ``triton`` is imported.
"""
import os

from torch import Tensor

__all__ = ['ENV', 'MAX_K', 'triton_available', 'use_triton']

ENV = 'TAP3D_TRITON'
# The kNN kernel keeps each query's neighbours in registers: larger k use the torch op.
MAX_K = 128
_MODES = ('auto', '1', '0', 'interpret')
_STATE = {}


def triton_available() -> bool:
    """Whether ``import triton`` works (tried once; CPU-only use never tries)."""
    if 'ok' not in _STATE:
        try:
            import triton  # noqa: F401
            _STATE['ok'] = True
        except Exception:  # not installed, or a broken install: the torch ops run
            _STATE['ok'] = False
    return _STATE['ok']


def use_triton(op: str, x: Tensor, k: int = 0) -> bool:
    """Whether ``op`` runs its Triton kernel on ``x``'s device.

    Args:
        op: the op's name (for messages).
        x: the op's first point tensor; its device decides.
        k: for kNN, the number of neighbours kept per query (``min(k, N)``).
    """
    mode = os.environ.get(ENV, 'auto')
    if mode not in _MODES:
        raise ValueError(f'{op}: environment variable {ENV}={mode!r} is not one of {_MODES}')
    if mode == '0':
        return False
    device = x.device.type
    if device != 'cuda':
        if device != 'cpu' or mode != 'interpret':
            return False
        if os.environ.get('TRITON_INTERPRET', '0') != '1':
            raise RuntimeError(f'{op}: {ENV}=interpret runs the Triton kernels on CPU tensors '
                               "in Triton's interpreter: set TRITON_INTERPRET=1 as well, "
                               'before triton is imported')
    if k > MAX_K:
        return False
    return triton_available()
