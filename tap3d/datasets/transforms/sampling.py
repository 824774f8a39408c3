"""Sampling transforms: choose, drop or reorder points.

Each goes through :func:`.keys.index_points`, so every per-point array present stays
aligned with ``coord``. Keys: see :mod:`.keys`.
"""
from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from tap3d.registry import TRANSFORMS

from ..io import padding_indices
from .keys import get_boxes, index_points

__all__ = [
    'farthest_point_sample', 'voxel_keys', 'PointSample', 'ShufflePoints', 'GridSample',
    'SphereCrop', 'RandomDropout', 'RandomCuboidCrop'
]


def farthest_point_sample(points: np.ndarray, num: int, start: int = 0) -> np.ndarray:
    """Greedy farthest point sampling.

    Args:
        points: (N, 3) array, N >= num.
        num: number of indices to pick.
        start: index of the first pick.

    Returns:
        (num,) int64 indices into ``points``.
    """
    points = np.asarray(points, dtype=np.float64)[:, :3]
    idx = np.empty(num, dtype=np.int64)
    dist = np.full(len(points), np.inf)
    cur = start
    for i in range(num):
        idx[i] = cur
        dist = np.minimum(dist, ((points - points[cur]) ** 2).sum(1))
        cur = int(dist.argmax())
    return idx


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
class PointSample(BaseTransform):
    """Sample exactly ``num_points`` points.

    Methods: ``'random'`` (uniform without replacement; 3DETR draws 40000 points of
    a scene this way), ``'fps'`` (farthest point sampling from a random start, or
    from point ``fps_start``),
    ``'first'`` (the first points, a deterministic choice for files that are already
    shuffled). With fewer points than asked, every point is kept once and random
    duplicates pad the rest; when more than half of the result would be duplicates,
    a warning names the sample's ``file`` (once per file). The readers refuse clouds
    below :data:`~tap3d.datasets.io.MIN_POINTS` before they get here. (3DETR instead
    draws a short scene's points with replacement, which may leave some out.)

    Args:
        num_points: points to keep.
        method: ``'random'``, ``'fps'`` or ``'first'``.
        fps_start: with ``'fps'``, the index of the first pick; None draws it at
            random. The CUDA FPS of PointNet++ / openpoints starts at point 0, so
            a deterministic test-time sample (the TAP authors' ScanObjectNN test
            points, Point-BERT's few-shot test) is ``fps_start=0``.
        replace: with ``'random'``, draw with replacement (duplicates allowed even
            when the cloud is large enough), as the TAP authors' ShapeNetPart
            training draws its 2048 points.

    Required keys: coord (N, 3). Modified: every per-point key -> (num_points, ...).
    """

    def __init__(self, num_points: int, method: str = 'random',
                 fps_start: Optional[int] = None, replace: bool = False) -> None:
        if method not in ('random', 'fps', 'first'):
            raise ValueError(f"method must be 'random', 'fps' or 'first', got {method!r}")
        if fps_start is not None and (method != 'fps' or int(fps_start) < 0):
            raise ValueError(f"fps_start must be a non-negative index and needs method='fps', "
                             f'got fps_start={fps_start!r} with method={method!r}')
        self.num_points = int(num_points)
        self.method = method
        self.fps_start = None if fps_start is None else int(fps_start)
        if replace and method != 'random':
            raise ValueError(f"replace=True needs method='random', got method={method!r}")
        self.replace = bool(replace)

    def transform(self, results: dict) -> dict:
        n, m = len(results['coord']), self.num_points
        if n == 0:
            raise ValueError(f"{results.get('file', 'PointSample')}: the cloud has no points")
        if self.replace:
            index = np.random.choice(n, m, replace=True)
        elif n < m:
            extra = padding_indices(n, m, str(results.get('file', '<a cloud without file>')))
            index = np.concatenate([np.arange(n), extra])
        elif self.method == 'random':
            index = np.random.choice(n, m, replace=False)
        elif self.method == 'fps':
            if self.fps_start is not None and self.fps_start >= n:
                raise ValueError(f"{results.get('file', 'PointSample')}: fps_start "
                                 f'{self.fps_start} is beyond the {n} points of the cloud')
            start = np.random.randint(n) if self.fps_start is None else self.fps_start
            index = farthest_point_sample(results['coord'], m, start)
        else:
            index = np.arange(m)
        return index_points(results, index)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_points={self.num_points}, '
                f'method={self.method!r}, fps_start={self.fps_start}, replace={self.replace})')


@TRANSFORMS.register_module()
class ShufflePoints(BaseTransform):
    """Randomly permute the points (and every per-point key with them)."""

    def transform(self, results: dict) -> dict:
        return index_points(results, np.random.permutation(len(results['coord'])))


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
            index_points(results, order[pick])
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
        return index_points(results, keep)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(point_max={self.point_max}, mode={self.mode!r})'


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
        return index_points(results, index)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(dropout_ratio={self.dropout_ratio}, p={self.p})'


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
        boxes = get_boxes(results)
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
            return index_points(results, np.flatnonzero(inside))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_points={self.min_points}, aspect={self.aspect}, '
                f'min_crop={self.min_crop}, max_crop={self.max_crop})')
