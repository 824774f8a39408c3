"""Point ops in plain torch: the same code runs on CPU and CUDA.

Sampling (FPS), neighbour search (kNN, ball query, three-NN), gathering and
interpolation of per-point features, and offset-form batch utilities with
voxel-grid pooling. Each op is checked against a brute-force reference in
``tests/test_ops``. On CUDA tensors, FPS, kNN and ball query run Triton
kernels instead (one launch each, the same results) when ``triton`` is
importable; see :mod:`tap3d.ops.triton`.
"""
from .grouping import gather_points, group_points, three_interpolate, three_nn_interpolate
from .neighbors import ball_query, knn, knn_offset, three_nn
from .offset import (
                     batch_to_offset,
                     grid_pool,
                     grid_unpool,
                     offset_to_batch,
                     offset_to_lengths,
                     offset_to_padded,
                     padded_to_offset,
)
from .sampling import furthest_point_sample, naive_furthest_point_sample

__all__ = [
    'furthest_point_sample', 'naive_furthest_point_sample', 'knn', 'knn_offset',
    'ball_query', 'three_nn', 'gather_points', 'group_points', 'three_interpolate',
    'three_nn_interpolate', 'offset_to_batch', 'batch_to_offset', 'offset_to_lengths',
    'offset_to_padded', 'padded_to_offset', 'grid_pool', 'grid_unpool'
]
