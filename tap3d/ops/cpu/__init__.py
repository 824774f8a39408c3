"""CPU-speed layer: fused C++ kernels and cheaper CPU code paths.

Each op here gives the same results as the plain torch ops it replaces and
dispatches itself: the fast path runs for float32 CPU tensors in training when
the kernels are built (:mod:`.build`), the torch ops everywhere else (CUDA, eval,
autocast, no compiler, ``TAP3D_CPU_KERNELS=0``).

- :func:`batch_norm_act`: BatchNorm + residual + ReLU in two passes each way.
- :func:`group_max`: max over neighbours with a one-pass backward.
- :class:`Dropout`: dropout with a cheaper random mask.
"""
from .bn_act import batch_norm_act
from .build import cpu_kernels
from .dropout import Dropout, use_torch_dropout
from .group_max import group_max

__all__ = ['batch_norm_act', 'cpu_kernels', 'Dropout', 'use_torch_dropout', 'group_max']
