"""Triton kernels of the sequential and gather-heavy point ops, for CUDA tensors.

On a GPU the torch FPS runs a loop of small kernels per sampled point; here
each op is one kernel launch: furthest point sampling (one program per cloud,
the whole loop inside), kNN (batched and offset form) and ball query. Triton
ships with the CUDA builds of torch, so nothing is compiled at install time.
:func:`use_triton` (in :mod:`.dispatch`) is the one place that decides when
the public ops of :mod:`tap3d.ops` use them; ``TAP3D_TRITON=0`` turns them off.
Importing this package does not import ``triton``.
"""
from .dispatch import ENV, MAX_K, triton_available, use_triton
from .ops import ball_query, furthest_point_sample, knn, knn_offset

__all__ = [
    'ENV', 'MAX_K', 'triton_available', 'use_triton', 'furthest_point_sample', 'knn', 'knn_offset',
    'ball_query'
]
