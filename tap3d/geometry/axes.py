"""Axis conventions and normalisation of object point clouds (docs/tap.md §4).

ShapeNet55 point clouds are y-up. tap3d loads them with the permutation
``(x, y, z) <- (z, x, y)`` so that gravity runs along z (index 2), which is
the up axis the poses of :mod:`tap3d.geometry.poses` assume. Both helpers
accept numpy arrays and torch tensors and return the same kind.
"""
from typing import Tuple, TypeVar

import numpy as np
import torch

__all__ = ['SHAPENET_TO_ZUP', 'shapenet_to_zup', 'normalize_to_unit_sphere']

#: Column order that turns a y-up ShapeNet55 cloud into tap3d's z-up frame.
SHAPENET_TO_ZUP = (2, 0, 1)

ArrayLike = TypeVar('ArrayLike', np.ndarray, torch.Tensor)


def shapenet_to_zup(points: ArrayLike) -> ArrayLike:
    """Permute the axes of y-up ShapeNet55 points: ``(x, y, z) <- (z, x, y)``.

    Args:
        points: (..., 3) numpy array or tensor (apply it to normals separately).

    Returns:
        (..., 3) of the same kind, a new array.
    """
    if points.shape[-1] != 3:
        raise ValueError('shapenet_to_zup: expected (..., 3) coordinates, '
                         f'got {tuple(points.shape)}')
    return points[..., list(SHAPENET_TO_ZUP)]


def normalize_to_unit_sphere(points: ArrayLike) -> Tuple[ArrayLike, ArrayLike, ArrayLike]:
    """Centre points on their centroid and scale them into the unit sphere.

    Args:
        points: (..., N, 3) numpy array or tensor.

    Returns:
        normalized: (..., N, 3) ``(points - centroid) / scale``.
        centroid: (..., 1, 3) the mean point.
        scale: (..., 1, 1) the largest distance from the centroid (1 when all
            points coincide, so nothing is divided by zero).
    """
    if points.shape[-1] != 3 or points.ndim < 2:
        raise ValueError(
            f'normalize_to_unit_sphere: expected (..., N, 3) points, got {tuple(points.shape)}')
    if points.shape[-2] == 0:
        raise ValueError('normalize_to_unit_sphere: the point set is empty')
    if isinstance(points, torch.Tensor):
        centroid = points.mean(dim=-2, keepdim=True)
        centred = points - centroid
        scale = centred.norm(dim=-1, keepdim=True).amax(dim=-2, keepdim=True)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        return centred / scale, centroid, scale
    centroid = points.mean(axis=-2, keepdims=True)
    centred = points - centroid
    scale = np.linalg.norm(centred, axis=-1, keepdims=True).max(axis=-2, keepdims=True)
    scale = np.where(scale > 0, scale, np.ones_like(scale))
    return centred / scale, centroid, scale
