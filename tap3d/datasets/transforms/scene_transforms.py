"""Scene-level transforms (numpy in, numpy out) for ScanNet-style pipelines.

Keys follow Pointcept: per-point ``coord (N,3)``, ``color (N,3)`` (0..255 until
:class:`NormalizeColor`), ``normal (N,3)``, ``segment (N,)``, ``instance (N,)``,
``feat (N,C)``, ``grid_coord (N,3)``, ``height (N,1)``; detection adds
``gt_bboxes_3d (K,6)`` = axis-aligned boxes ``cx cy cz dx dy dz`` and
``gt_labels_3d (K,)``. Every transform that drops or reorders points applies the
same index to all per-point keys present (:data:`SCENE_POINT_KEYS`); every
geometric transform moves the boxes with the points.

All randomness comes from numpy's global RNG, which mmengine seeds per worker.

Scene-level TAP: :class:`RenderSceneViews` photographs the scene's coloured points
with the poses of docs/tap.md §2, framed (docs/tap.md §5) by the very ``coord`` the model
receives. Put it after every transform that moves or drops points and after
:class:`CenterShift`, but before :class:`NormalizeColor` (it reads colours in
0..255).
"""
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from tap3d.registry import TRANSFORMS
from ..io import warn_once

__all__ = [
    'SCENE_POINT_KEYS', 'index_scene_points', 'voxel_keys', 'rotate_aligned_boxes',
    'rotate_aligned_boxes_z', 'GridSample', 'SphereCrop', 'RandomRotateZ', 'RandomTilt',
    'RandomDropout', 'RandomScale3D', 'RandomFlip', 'RandomJitter3D', 'ElasticDistortion',
    'ShuffleScenePoints', 'ChromaticAutoContrast', 'ChromaticTranslation', 'ChromaticJitter',
    'NormalizeColor', 'CenterShift', 'RandomCuboidCrop', 'PointSubsample', 'BuildSceneFeat',
    'RenderSceneViews', 'PackSceneInputs', 'SceneFragments'
]

SCENE_POINT_KEYS = ('coord', 'color', 'normal', 'segment', 'instance', 'feat', 'grid_coord',
                    'height')


def index_scene_points(results: dict, index: np.ndarray) -> dict:
    """Apply ``index`` (M,) to every per-point array of ``results`` in place.

    Args:
        results: pipeline dict; its per-point arrays (:data:`SCENE_POINT_KEYS`) have
            N rows.
        index: (M,) integer rows to keep, in order (repeats allowed).

    Raises:
        ValueError: if a per-point array's length differs from ``coord``'s, or if
            ``results`` holds a grid-sampling ``inverse`` map or test fragments that
            the index would invalidate.
    """
    # the inverse map and the test fragments point at rows of the current scene;
    # dropping or reordering them afterwards would silently scramble predictions
    if results.get('inverse') is not None:
        raise ValueError('points cannot be dropped or reordered after '
                         'GridSample(return_inverse=True)')
    if results.get('fragment_index') is not None:
        raise ValueError("points cannot be dropped or reordered after GridSample(mode='test')")
    n = len(results['coord'])
    for key in SCENE_POINT_KEYS:
        if results.get(key) is not None:
            if len(results[key]) != n:
                raise ValueError(f'per-point key {key!r} has {len(results[key])} rows '
                                 f'but coord has {n}')
            results[key] = results[key][index]
    return results


def _boxes(results: dict) -> Optional[np.ndarray]:
    boxes = results.get('gt_bboxes_3d')
    if boxes is None:
        return None
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 6)
    results['gt_bboxes_3d'] = boxes
    return boxes


def _float_color(results: dict) -> Optional[np.ndarray]:
    color = results.get('color')
    if color is None:
        return None
    color = np.asarray(color, dtype=np.float32)
    results['color'] = color
    return color


def voxel_keys(coord: np.ndarray, grid_size: float) -> Tuple[np.ndarray, np.ndarray]:
    """Integer voxel of every point and a unique int64 key per voxel.

    Args:
        coord: (N, 3) coordinates.
        grid_size: voxel side.

    Returns:
        grid (N, 3) int64 voxel indices shifted to start at 0, and key (N,) int64.
    """
    grid = np.floor(coord / grid_size).astype(np.int64)
    grid -= grid.min(axis=0)
    dims = grid.max(axis=0) + 1
    key = (grid[:, 0] * dims[1] + grid[:, 1]) * dims[2] + grid[:, 2]
    return grid, key


@TRANSFORMS.register_module()
class GridSample(BaseTransform):
    """Voxel-grid subsampling (Pointcept's ``GridSample``).

    - ``mode='train'``: keep one random point per occupied voxel.
    - ``mode='test'``: keep every point and add ``fragment_index``: a list of
      ``max points per voxel`` index arrays (each (M,), M = number of voxels); fragment
      ``i`` takes the ``i``-th point of every voxel (cycling in smaller voxels), so the
      fragments together cover every point. A segmentor predicts each fragment and
      sums the class scores back onto the full scene (test-time voting).

    Args:
        grid_size: voxel side in metres (0.02 for ScanNet).
        mode: ``'train'`` or ``'test'``.
        return_grid_coord: also store ``grid_coord (N, 3) int64``, the voxel index of
            each kept point (for sparse-convolution backbones).
        return_inverse: (``'train'`` mode) also store ``inverse (N_full,) int64``, the
            kept row that stands for each original point, and ``origin_segment``, the
            labels of all original points; packing them as the data sample's
            ``inverse`` and ``gt_sem_labels`` lets a segmentor predict and be scored
            on the full scene.
    """

    def __init__(self, grid_size: float = 0.02, mode: str = 'train',
                 return_grid_coord: bool = False, return_inverse: bool = False) -> None:
        if mode not in ('train', 'test'):
            raise ValueError(f"GridSample mode must be 'train' or 'test', got {mode!r}")
        if grid_size <= 0:
            raise ValueError(f'GridSample grid_size must be > 0, got {grid_size}')
        if return_inverse and mode != 'train':
            raise ValueError("GridSample return_inverse needs mode='train'")
        self.grid_size, self.mode, self.return_grid_coord = grid_size, mode, return_grid_coord
        self.return_inverse = return_inverse

    def transform(self, results: dict) -> dict:
        coord = results['coord']
        if len(coord) == 0:
            raise ValueError('GridSample: the scene has no points')
        grid, key = voxel_keys(coord, self.grid_size)
        if self.return_grid_coord:
            results['grid_coord'] = grid
        order = np.argsort(key, kind='stable')
        _, first, inverse, count = np.unique(key[order], return_index=True,
                                             return_inverse=True, return_counts=True)
        if self.mode == 'train':
            pick = first + np.random.randint(0, count.max(), count.size) % count
            origin_segment = results.get('segment')
            index_scene_points(results, order[pick])
            if self.return_inverse:
                full_inverse = np.empty(len(coord), dtype=np.int64)
                full_inverse[order] = inverse.reshape(-1)  # voxel v is kept row v
                results['inverse'] = full_inverse
                if origin_segment is not None:
                    results['origin_segment'] = np.asarray(origin_segment)
            return results
        results['fragment_index'] = [order[first + i % count] for i in range(int(count.max()))]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(grid_size={self.grid_size}, mode={self.mode!r}, '
                f'return_grid_coord={self.return_grid_coord}, '
                f'return_inverse={self.return_inverse})')


@TRANSFORMS.register_module()
class SphereCrop(BaseTransform):
    """Keep at most ``point_max`` points: the nearest ones to a crop centre.

    Args:
        point_max: the most points kept; smaller scenes pass unchanged.
        mode: ``'random'`` centres the crop on a random point (training);
            ``'center'`` on the point nearest the centre of the bounding box.
    """

    def __init__(self, point_max: int = 80000, mode: str = 'random') -> None:
        if mode not in ('random', 'center'):
            raise ValueError(f"SphereCrop mode must be 'random' or 'center', got {mode!r}")
        self.point_max, self.mode = int(point_max), mode

    def transform(self, results: dict) -> dict:
        coord = results['coord']
        n = len(coord)
        if n <= self.point_max:
            return results
        if self.mode == 'random':
            centre = coord[np.random.randint(n)]
        else:
            mid = (coord.min(0) + coord.max(0)) / 2
            centre = coord[np.argmin(((coord - mid) ** 2).sum(1))]
        dist = ((coord - centre) ** 2).sum(1)
        keep = np.sort(np.argpartition(dist, self.point_max - 1)[:self.point_max])
        return index_scene_points(results, keep)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(point_max={self.point_max}, mode={self.mode!r})'


def rotate_aligned_boxes_z(boxes: np.ndarray, angle: float) -> np.ndarray:
    """Rotate axis-aligned boxes about the z axis through the origin; re-fit them.

    Args:
        boxes: (K, 6) ``cx cy cz dx dy dz``.
        angle: radians, counter-clockwise seen from +z.

    Returns:
        (K, 6) the axis-aligned boxes enclosing the rotated ones.
    """
    c, s = math.cos(angle), math.sin(angle)
    out = boxes.copy()
    out[:, 0] = c * boxes[:, 0] - s * boxes[:, 1]
    out[:, 1] = s * boxes[:, 0] + c * boxes[:, 1]
    out[:, 3] = abs(c) * boxes[:, 3] + abs(s) * boxes[:, 4]
    out[:, 4] = abs(s) * boxes[:, 3] + abs(c) * boxes[:, 4]
    return out


@TRANSFORMS.register_module()
class RandomRotateZ(BaseTransform):
    """Rotate the scene about the z axis through ``center`` by a uniform random angle.

    Normals turn with the points; axis-aligned boxes are rotated and re-fitted
    (their extent grows, as in 3DETR).

    Args:
        angle: (low, high) in radians; ``(-pi/36, pi/36)`` is 3DETR's ±5°.
        p: probability of rotating at all.
        center: rotation centre (3,); default the origin (so run
            :class:`CenterShift` first to rotate about the scene).
    """

    def __init__(self, angle: Sequence[float] = (-math.pi, math.pi), p: float = 1.0,
                 center: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
        self.angle, self.p = tuple(angle), p
        self.center = np.asarray(center, dtype=np.float32)

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.p:
            return results
        theta = float(np.random.uniform(*self.angle))
        c, s = math.cos(theta), math.sin(theta)
        rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=np.float32)
        coord = (results['coord'] - self.center) @ rot.T + self.center
        results['coord'] = coord.astype(np.float32)
        if results.get('normal') is not None:
            results['normal'] = (results['normal'] @ rot.T).astype(np.float32)
        boxes = _boxes(results)
        if boxes is not None and len(boxes):
            shifted = boxes.copy()
            shifted[:, :3] -= self.center
            out = rotate_aligned_boxes_z(shifted, theta)
            out[:, :3] += self.center
            results['gt_bboxes_3d'] = out.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(angle={self.angle}, p={self.p})'


@TRANSFORMS.register_module()
class RandomScale3D(BaseTransform):
    """Scale the scene (and box centres and sizes) about the origin.

    Args:
        scale: (low, high) of the uniform scale factor.
        anisotropic: draw one factor per axis; normals then follow the inverse
            transpose and are re-normalised.
    """

    def __init__(self, scale: Sequence[float] = (0.9, 1.1), anisotropic: bool = False) -> None:
        self.scale, self.anisotropic = tuple(scale), anisotropic

    def transform(self, results: dict) -> dict:
        factor = np.random.uniform(*self.scale, 3 if self.anisotropic else 1).astype(np.float32)
        factor = np.broadcast_to(factor, (3, )).copy()
        results['coord'] = (results['coord'] * factor).astype(np.float32)
        if self.anisotropic and results.get('normal') is not None:
            n = results['normal'] / factor
            results['normal'] = (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True),
                                                1e-12)).astype(np.float32)
        boxes = _boxes(results)
        if boxes is not None:
            boxes[:, :3] *= factor
            boxes[:, 3:6] *= factor
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale={self.scale}, anisotropic={self.anisotropic})'


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Mirror the scene across the planes x = 0 and/or y = 0.

    Each listed axis flips independently with probability ``p`` (3DETR flips x
    and y with p = 0.5 each). Normals and box centres flip with the points.

    Args:
        p: flip probability per axis.
        axes: axes that may flip (0 = x, 1 = y).
    """

    def __init__(self, p: float = 0.5, axes: Sequence[int] = (0, 1)) -> None:
        self.p, self.axes = p, tuple(axes)

    def transform(self, results: dict) -> dict:
        for axis in self.axes:
            if np.random.rand() >= self.p:
                continue
            # copy first: never write into arrays the caller may still hold
            results['coord'] = np.array(results['coord'], dtype=np.float32)
            if results.get('normal') is not None:
                results['normal'] = np.array(results['normal'], dtype=np.float32)
            results['coord'][:, axis] = -results['coord'][:, axis]
            if results.get('normal') is not None:
                results['normal'][:, axis] = -results['normal'][:, axis]
            boxes = _boxes(results)
            if boxes is not None:
                boxes[:, axis] = -boxes[:, axis]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(p={self.p}, axes={self.axes})'


@TRANSFORMS.register_module()
class RandomJitter3D(BaseTransform):
    """Add N(0, sigma²) noise, clipped to [-clip, clip], to every scene point's coord."""

    def __init__(self, sigma: float = 0.005, clip: float = 0.02) -> None:
        if clip <= 0:
            raise ValueError(f'RandomJitter3D clip must be > 0, got {clip}')
        self.sigma, self.clip = sigma, clip

    def transform(self, results: dict) -> dict:
        coord = results['coord']
        noise = np.clip(self.sigma * np.random.randn(*coord.shape), -self.clip, self.clip)
        results['coord'] = (coord + noise).astype(np.float32)
        return results


def rotate_aligned_boxes(boxes: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """Rotate axis-aligned boxes about the origin and re-fit them.

    Args:
        boxes: (K, 6) ``cx cy cz dx dy dz``.
        rot: (3, 3) rotation applied as ``p' = rot @ p``.

    Returns:
        (K, 6) the axis-aligned boxes enclosing the rotated ones: centres
        ``rot @ c``, sizes ``|rot| @ d``.
    """
    out = np.empty_like(boxes)
    out[:, :3] = boxes[:, :3] @ rot.T
    out[:, 3:6] = boxes[:, 3:6] @ np.abs(rot).T
    return out


@TRANSFORMS.register_module()
class RandomTilt(BaseTransform):
    """Small random rotations about the x and the y axis (Pointcept: ±pi/64, p=0.5 each).

    Rotates about the origin; normals turn with the points; boxes are re-fitted.

    Args:
        max_angle: largest tilt in radians.
        p: probability of tilting about each of the two axes.
    """

    def __init__(self, max_angle: float = math.pi / 64, p: float = 0.5) -> None:
        self.max_angle, self.p = max_angle, p

    def transform(self, results: dict) -> dict:
        rot = np.eye(3)
        for axis in (0, 1):
            if np.random.rand() >= self.p:
                continue
            a = np.random.uniform(-self.max_angle, self.max_angle)
            c, s = math.cos(a), math.sin(a)
            i, j = [k for k in range(3) if k != axis]
            r = np.eye(3)
            r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
            rot = r @ rot
        results['coord'] = (results['coord'] @ rot.T).astype(np.float32)
        if results.get('normal') is not None:
            results['normal'] = (results['normal'] @ rot.T).astype(np.float32)
        boxes = _boxes(results)
        if boxes is not None and len(boxes):
            results['gt_bboxes_3d'] = rotate_aligned_boxes(boxes, rot).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(max_angle={self.max_angle}, p={self.p})'


@TRANSFORMS.register_module()
class RandomDropout(BaseTransform):
    """With probability ``p``, drop a random ``dropout_ratio`` of the points.

    Pointcept's ScanNet recipe uses ``dropout_ratio=0.2, p=0.2``.
    """

    def __init__(self, dropout_ratio: float = 0.2, p: float = 0.2) -> None:
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f'RandomDropout dropout_ratio must be in [0, 1), got {dropout_ratio}')
        self.dropout_ratio, self.p = dropout_ratio, p

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.p:
            return results
        n = len(results['coord'])
        keep = max(1, int(n * (1 - self.dropout_ratio)))
        index = np.sort(np.random.choice(n, keep, replace=False))
        return index_scene_points(results, index)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(dropout_ratio={self.dropout_ratio}, p={self.p})'


@TRANSFORMS.register_module()
class ElasticDistortion(BaseTransform):
    """Smooth random displacement field (Pointcept's ElasticDistortion).

    For each ``(granularity, magnitude)``: Gaussian noise on a grid of cell
    ``granularity`` metres is smoothed (three-tap box filter, twice per axis),
    interpolated trilinearly at every point and added times ``magnitude``. Applied
    with probability ``p``. Boxes are not moved, so use it for segmentation only.

    Args:
        distortion_params: sequence of (granularity, magnitude).
        p: probability of distorting at all.
    """

    def __init__(self, distortion_params: Sequence[Sequence[float]] = ((0.2, 0.4), (0.8, 1.6)),
                 p: float = 0.95) -> None:
        self.distortion_params = tuple(tuple(x) for x in distortion_params)
        self.p = p

    @staticmethod
    def distort(coord: np.ndarray, granularity: float, magnitude: float) -> np.ndarray:
        """(N, 3) coord -> (N, 3) coord plus one smooth random displacement field."""
        from scipy.interpolate import RegularGridInterpolator
        from scipy.ndimage import uniform_filter1d

        lo = coord.min(0)
        dims = ((coord - lo).max(0) // granularity).astype(int) + 3
        noise = np.random.randn(*dims, 3).astype(np.float32)
        for _ in range(2):
            for axis in range(3):
                noise = uniform_filter1d(noise, size=3, axis=axis, mode='constant')
        axes = [np.linspace(lo[d] - granularity, lo[d] + granularity * (dims[d] - 2), dims[d])
                for d in range(3)]
        field = RegularGridInterpolator(axes, noise, bounds_error=False, fill_value=0.0)
        return coord + field(coord) * magnitude

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.p:
            return results
        coord = np.asarray(results['coord'], dtype=np.float64)
        for granularity, magnitude in self.distortion_params:
            coord = self.distort(coord, granularity, magnitude)
        results['coord'] = coord.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(distortion_params={self.distortion_params}, '
                f'p={self.p})')


@TRANSFORMS.register_module()
class ShuffleScenePoints(BaseTransform):
    """Randomly permute the points (and every per-point key)."""

    def transform(self, results: dict) -> dict:
        return index_scene_points(results, np.random.permutation(len(results['coord'])))


@TRANSFORMS.register_module()
class ChromaticAutoContrast(BaseTransform):
    """Stretch each colour channel to 0..255 and blend with the original.

    Args:
        p: probability of applying.
        blend_factor: weight of the stretched colours; random in [0, 1) if None.
    """

    def __init__(self, p: float = 0.2, blend_factor: Optional[float] = None) -> None:
        self.p, self.blend_factor = p, blend_factor

    def transform(self, results: dict) -> dict:
        color = _float_color(results)
        if color is None or np.random.rand() >= self.p:
            return results
        lo, hi = color.min(0, keepdims=True), color.max(0, keepdims=True)
        stretched = (color - lo) * (255.0 / np.maximum(hi - lo, 1e-6))
        blend = np.random.rand() if self.blend_factor is None else self.blend_factor
        results['color'] = ((1 - blend) * color + blend * stretched).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class ChromaticTranslation(BaseTransform):
    """Shift all colours by one random RGB offset in ±ratio·255, then clip to 0..255."""

    def __init__(self, p: float = 0.95, ratio: float = 0.05) -> None:
        self.p, self.ratio = p, ratio

    def transform(self, results: dict) -> dict:
        color = _float_color(results)
        if color is None or np.random.rand() >= self.p:
            return results
        shift = (np.random.rand(1, 3) - 0.5) * 2 * 255 * self.ratio
        results['color'] = np.clip(color + shift, 0, 255).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class ChromaticJitter(BaseTransform):
    """Add per-point Gaussian colour noise of std ``std·255``, then clip to 0..255."""

    def __init__(self, p: float = 0.95, std: float = 0.005) -> None:
        self.p, self.std = p, std

    def transform(self, results: dict) -> dict:
        color = _float_color(results)
        if color is None or np.random.rand() >= self.p:
            return results
        noise = np.random.randn(*color.shape) * self.std * 255
        results['color'] = np.clip(color + noise, 0, 255).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class NormalizeColor(BaseTransform):
    """``color = (color - mean) / std``.

    The default maps 0..255 to [0, 1] (Pointcept). 3DETR uses
    ``mean=(109.8, 97.2, 83.8), std=256``.
    """

    def __init__(self, mean: Optional[Sequence[float]] = None, std: float = 255.0) -> None:
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = float(std)

    def transform(self, results: dict) -> dict:
        color = _float_color(results)
        if color is None:
            return results
        if self.mean is not None:
            color = color - self.mean
        results['color'] = (color / self.std).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class CenterShift(BaseTransform):
    """Translate the scene so that its bounding box is centred on x = y = 0.

    With ``apply_z`` the lowest point moves to z = 0 as well. Boxes move with the
    points; the shift is accumulated in ``results['center_shift']`` (3,).
    """

    def __init__(self, apply_z: bool = True) -> None:
        self.apply_z = apply_z

    def transform(self, results: dict) -> dict:
        coord = results['coord']
        lo, hi = coord.min(0), coord.max(0)
        shift = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2,
                          lo[2] if self.apply_z else 0.0], dtype=np.float32)
        results['coord'] = (coord - shift).astype(np.float32)
        boxes = _boxes(results)
        if boxes is not None:
            boxes[:, :3] -= shift
        results['center_shift'] = results.get('center_shift', np.zeros(3, np.float32)) + shift
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(apply_z={self.apply_z})'


@TRANSFORMS.register_module()
class RandomCuboidCrop(BaseTransform):
    """Crop a random axis-aligned cuboid of the scene (3DETR's RandomCuboid).

    The cuboid's side along each axis is a random fraction in [min_crop, max_crop] of
    the scene's extent, its centre a random point. A draw is rejected when no pair of
    sides has an aspect ratio ≥ ``aspect``, when it keeps fewer than ``min_points``
    points, or (if the scene has boxes) when no box centre stays inside. Kept boxes
    are those whose centres lie inside the cuboid. After ``max_attempts`` rejections
    the scene passes unchanged.

    Args:
        min_points: fewest points a crop may keep.
        aspect: smallest accepted side ratio of at least one pair of axes.
        min_crop, max_crop: range of the side fractions.
        max_attempts: draws before giving up.
    """

    def __init__(self, min_points: int = 30000, aspect: float = 0.75, min_crop: float = 0.75,
                 max_crop: float = 1.0, max_attempts: int = 10) -> None:
        self.min_points, self.aspect = int(min_points), aspect
        self.min_crop, self.max_crop, self.max_attempts = min_crop, max_crop, max_attempts

    def _aspect_ok(self, frac: np.ndarray) -> bool:
        for a, b in ((0, 1), (0, 2), (1, 2)):
            if min(frac[a], frac[b]) / max(frac[a], frac[b]) >= self.aspect:
                return True
        return False

    def transform(self, results: dict) -> dict:
        coord = results['coord']
        extent = coord.max(0) - coord.min(0)
        boxes = _boxes(results)
        for _ in range(self.max_attempts):
            frac = self.min_crop + np.random.rand(3) * (self.max_crop - self.min_crop)
            if not self._aspect_ok(frac):
                continue
            centre = coord[np.random.randint(len(coord))]
            half = extent * frac / 2
            lo, hi = centre - half, centre + half
            inside = np.all((coord >= lo) & (coord <= hi), axis=1)
            if inside.sum() < self.min_points:
                continue
            if boxes is not None and len(boxes):
                keep = np.all((boxes[:, :3] >= lo) & (boxes[:, :3] <= hi), axis=1)
                if not keep.any():
                    continue
                results['gt_bboxes_3d'] = boxes[keep]
                if results.get('gt_labels_3d') is not None:
                    results['gt_labels_3d'] = np.asarray(results['gt_labels_3d'])[keep]
            return index_scene_points(results, np.flatnonzero(inside))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_points={self.min_points}, aspect={self.aspect}, '
                f'min_crop={self.min_crop}, max_crop={self.max_crop})')


@TRANSFORMS.register_module()
class PointSubsample(BaseTransform):
    """Draw exactly ``num_points`` points at random (3DETR: 40000).

    Without replacement when the scene has enough points, with replacement
    otherwise; then, when fewer than half of ``num_points`` are available, a
    warning names the scene's ``file`` (once per file).
    """

    def __init__(self, num_points: int = 40000) -> None:
        self.num_points = int(num_points)

    def transform(self, results: dict) -> dict:
        n = len(results['coord'])
        if n == 0:
            raise ValueError('PointSubsample: the scene has no points')
        index = np.random.choice(n, self.num_points, replace=n < self.num_points)
        if 2 * n < self.num_points:
            warn_once(('padding', results.get('file')),
                      f"{results.get('file', 'a scene')}: only {n} points for "
                      f'{self.num_points}; drawn with replacement')
        return index_scene_points(results, index)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_points={self.num_points})'


@TRANSFORMS.register_module()
class BuildSceneFeat(BaseTransform):
    """Concatenate per-point arrays into the model input ``feat (N, C)``.

    Args:
        keys: any of ``coord`` (3), ``color`` (3), ``normal`` (3), ``height`` (1,
            z minus the 1st percentile of z, computed here when absent, as in
            VoteNet/3DETR). The default gives PTv2's 9 channels.
    """

    def __init__(self, keys: Sequence[str] = ('coord', 'color', 'normal')) -> None:
        self.keys = tuple(keys)

    def transform(self, results: dict) -> dict:
        parts = []
        for key in self.keys:
            if key == 'height' and results.get('height') is None:
                z = results['coord'][:, 2:3]
                results['height'] = (z - np.percentile(z, 1)).astype(np.float32)
            if results.get(key) is None:
                raise KeyError(f'BuildSceneFeat needs {key!r} but the sample has none')
            value = np.asarray(results[key], dtype=np.float32)
            parts.append(value.reshape(len(value), -1))
        results['feat'] = np.concatenate(parts, axis=1)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keys={self.keys})'


@TRANSFORMS.register_module()
class RenderSceneViews(BaseTransform):
    """Photograph the scene's coloured points for scene-level TAP.

    View ``v`` uses the pose ``R(theta_v, elevation)`` of docs/tap.md §2 with a random
    azimuth ``theta_v ~ U[0, 2 pi)``. Poses rotate about the origin, so run
    :class:`CenterShift` first: the views then circle the scene's centre. The
    framing (docs/tap.md §5) is computed by ``tap3d.geometry.compute_framing`` from the
    final ``coord``, the same points (and so the same ``(s, b)``) from which the TAP
    head builds its queries.

    Adds ``views (V, H, W, 3) uint8`` and ``view_rotations (V, 3, 3) float32``.

    Args:
        num_views: V.
        img_size, obj_size: image side and framed square side (docs/tap.md §5).
        point_radius_px: splat radius of each point in pixels.
        elevation: phi of every view (TAP's fixed elevation is -pi/3).
        color_key: per-point colours to paint, in 0..255.
        shade: shade the colours with the per-point ``normal`` (the renderer's
            ambient + Lambertian light), so surfaces facing different ways differ
            in brightness as in TAP's object renders.
    """

    def __init__(self, num_views: int = 6, img_size: int = 224, obj_size: int = 200,
                 point_radius_px: int = 1, elevation: float = -math.pi / 3,
                 color_key: str = 'color', shade: bool = False) -> None:
        if num_views < 1:
            raise ValueError(f'RenderSceneViews num_views must be >= 1, got {num_views}')
        self.num_views, self.img_size, self.obj_size = num_views, img_size, obj_size
        self.point_radius_px, self.elevation, self.color_key = point_radius_px, elevation, color_key
        self.shade = shade

    def transform(self, results: dict) -> dict:
        from tap3d.geometry import rotation_matrix
        from tap3d.rendering import render_points

        coord = np.asarray(results['coord'], dtype=np.float32)
        if len(coord) == 0:
            raise ValueError('RenderSceneViews: the scene has no points')
        color = results.get(self.color_key)
        if color is None:
            raise KeyError(f'RenderSceneViews needs per-point colours {self.color_key!r}')
        color = np.clip(np.asarray(color, dtype=np.float32) / 255.0, 0.0, 1.0)
        theta = torch.from_numpy(np.random.uniform(0, 2 * math.pi, self.num_views))
        rotations = rotation_matrix(theta, torch.full_like(theta, self.elevation)).float()
        normals = None
        if self.shade:
            if results.get('normal') is None:
                raise KeyError('RenderSceneViews(shade=True) needs per-point normals')
            normals = torch.from_numpy(np.asarray(results['normal'], dtype=np.float32))
        points = torch.from_numpy(coord)
        views = render_points(points, torch.from_numpy(color), rotations,
                              framing_points=points, img_size=self.img_size,
                              obj_size=self.obj_size, point_radius_px=self.point_radius_px,
                              normals=normals)
        views = views.numpy() if isinstance(views, torch.Tensor) else np.asarray(views)
        results['views'] = views.astype(np.uint8)
        results['view_rotations'] = rotations.numpy().astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_views={self.num_views}, img_size={self.img_size}, '
                f'obj_size={self.obj_size}, point_radius_px={self.point_radius_px}, '
                f'elevation={self.elevation}, shade={self.shade})')


class SceneFragments(BaseDataElement):
    """The test-time fragments of one scene, stacked: ``F`` fragments of ``M`` points.

    Fields: ``index (F, M)`` int64 rows of the full scene, and when present
    ``coord (F, M, 3)``, ``feat (F, M, C)``, ``grid_coord (F, M, 3)``. Every fragment
    of :class:`GridSample` ``mode='test'`` holds one point per voxel, so all have the
    same size M.

    It reads like a list of per-fragment dicts: ``len(frags) == F``, ``frags[i]`` is
    ``{'coord': (M, 3), 'feat': (M, C), 'index': (M,), ...}``, a slice gives a list of
    such dicts. Being a data element rather than a list or dict, it passes
    ``pseudo_collate`` untouched (one per sample) and ``cast_data`` moves it to the
    model's device.
    """

    def __len__(self) -> int:
        return int(self.index.shape[0]) if 'index' in self else 0

    def __getitem__(self, item):
        if isinstance(item, slice):
            return [self[i] for i in range(*item.indices(len(self)))]
        item = int(item)
        if not -len(self) <= item < len(self):
            raise IndexError(f'fragment {item} out of range for {len(self)} fragments')
        return {key: value[item] for key, value in self.items()}

    def __iter__(self):
        return (self[i] for i in range(len(self)))


# Names of ground-truth fields on the data sample.
_DATA_NAMES = {'segment': 'gt_sem_labels', 'origin_segment': 'gt_sem_labels',
               'instance': 'gt_instance_labels', 'inverse': 'inverse',
               'gt_bboxes_3d': 'gt_bboxes_3d', 'gt_labels_3d': 'gt_labels_3d'}
_FLOAT_DATA = ('gt_bboxes_3d', )


def _tensor(value, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        value = np.asarray(value)
        if value.dtype == np.float64:
            value = value.astype(np.float32)
        value = torch.from_numpy(np.ascontiguousarray(value))
    return value if dtype is None else value.to(dtype)


@TRANSFORMS.register_module()
class PackSceneInputs(BaseTransform):
    """Turn a scene pipeline's results into ``{'inputs', 'data_samples'}``.

    ``inputs`` holds tensors for the ``input_keys`` present: ``coord (N,3)`` and
    ``feat (N,C)`` float32, ``grid_coord (N,3)`` int64, ``views`` as
    ``(V, 3, H, W)`` uint8 (channel-first, converted from the pipeline's
    ``(V, H, W, 3)``), ``view_rotations (V,3,3)`` float32. With test-time
    fragments (:class:`GridSample` ``mode='test'``) it also holds ``fragments``, a
    :class:`SceneFragments` that reads as a list of dicts
    ``{coord (M,3), feat (M,C), index (M,) int64[, grid_coord]}``, ``index``
    pointing into the full scene.

    The data sample holds ``gt_sem_labels (N,)`` (from ``segment``, or the full
    scene's from ``origin_segment``), ``gt_instance_labels (N,)`` (from
    ``instance``), ``inverse (N_full,)`` (see :class:`GridSample`),
    ``gt_bboxes_3d (K,6)`` float32 and ``gt_labels_3d (K,)`` int64, for the
    ``data_keys`` present; its
    metainfo holds the ``meta_keys`` present. Missing keys are skipped, so one
    packer serves detection, segmentation and pre-training.
    """

    def __init__(self,
                 input_keys: Sequence[str] = ('coord', 'feat', 'views', 'view_rotations'),
                 data_keys: Sequence[str] = ('segment', 'gt_bboxes_3d', 'gt_labels_3d'),
                 meta_keys: Sequence[str] = ('scene_id', 'sample_idx', 'file', 'num_points',
                                             'center_shift')) -> None:
        unknown = set(data_keys) - set(_DATA_NAMES)
        if unknown:
            raise ValueError(f'PackSceneInputs: unknown data_keys {sorted(unknown)}; '
                             f'known: {sorted(_DATA_NAMES)}')
        if {'segment', 'origin_segment'} <= set(data_keys):
            raise ValueError("PackSceneInputs: 'segment' and 'origin_segment' both become "
                             'gt_sem_labels; pack one of them')
        self.input_keys, self.data_keys, self.meta_keys = (tuple(input_keys), tuple(data_keys),
                                                           tuple(meta_keys))

    def transform(self, results: dict) -> dict:
        if results.get('coord') is None:
            raise KeyError('PackSceneInputs: the sample has no coord')
        inputs: Dict[str, Union[torch.Tensor, list]] = {}
        for key in self.input_keys:
            value = results.get(key)
            if value is None:
                continue
            if key == 'views':
                value = np.asarray(value)
                if value.ndim != 4 or value.shape[-1] != 3 or value.dtype != np.uint8:
                    raise ValueError(f'PackSceneInputs: views must be (V, H, W, 3) uint8, got '
                                     f'{value.dtype} {value.shape}')
                inputs[key] = _tensor(value.transpose(0, 3, 1, 2))
            elif key == 'grid_coord':
                inputs[key] = _tensor(value, torch.int64)
            else:
                inputs[key] = _tensor(value, torch.float32)
        if results.get('fragment_index') is not None:
            inputs['fragments'] = self._fragments(results)
        sample = BaseDataElement()
        for key in self.data_keys:
            if results.get(key) is None:
                continue
            dtype = torch.float32 if key in _FLOAT_DATA else torch.int64
            sample.set_data({_DATA_NAMES[key]: _tensor(results[key], dtype)})
        meta = {k: results[k] for k in self.meta_keys if results.get(k) is not None}
        sample.set_metainfo(meta)
        return {'inputs': inputs, 'data_samples': sample}

    @staticmethod
    def _fragments(results: dict) -> SceneFragments:
        index = np.stack(results['fragment_index'])  # (F, M): equal sizes by construction
        frags = SceneFragments()
        frags.index = _tensor(index, torch.int64)
        for key in ('coord', 'feat'):
            if results.get(key) is not None:
                frags.set_field(_tensor(np.asarray(results[key])[index], torch.float32), key)
        if results.get('grid_coord') is not None:
            frags.grid_coord = _tensor(np.asarray(results['grid_coord'])[index], torch.int64)
        return frags

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_keys={self.input_keys}, '
                f'data_keys={self.data_keys}, meta_keys={self.meta_keys})')
