"""Point-cloud transforms for object-level pipelines (numpy in, numpy out).

All randomness comes from numpy's global RNG, so ``np.random.seed`` (which
mmengine sets per dataloader worker) makes a pipeline reproducible.

Per-point arrays share their first dimension N. Every transform that
subsamples or permutes points applies the same index to all of
``PER_POINT_KEYS`` present in the results dict.
"""
import math
from typing import Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform

from tap3d.registry import TRANSFORMS
from ..io import padding_indices

__all__ = [
    'PER_POINT_KEYS', 'index_per_point', 'farthest_point_sample', 'PointSample',
    'ShufflePoints', 'RandomScale', 'RandomScaleTranslate', 'RandomRotateUp',
    'RandomJitter', 'NormalizePoints', 'AddHeight', 'BuildFeats'
]

PER_POINT_KEYS = ('points', 'normals', 'colors', 'feats', 'height', 'part_labels',
                  'sem_labels', 'instance_labels')


def index_per_point(results: dict, index: np.ndarray) -> dict:
    """Apply ``index`` (M,) to every per-point array of ``results`` in place.

    Raises:
        ValueError: if a per-point array's length differs from ``points``'.
    """
    n = len(results['points'])
    for key in PER_POINT_KEYS:
        if key in results and results[key] is not None:
            if len(results[key]) != n:
                raise ValueError(f'per-point key {key!r} has {len(results[key])} '
                                 f'rows but points has {n}')
            results[key] = results[key][index]
    return results


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


@TRANSFORMS.register_module()
class PointSample(BaseTransform):
    """Sample ``num_points`` points.

    Methods: ``'random'`` (uniform without replacement), ``'fps'`` (farthest
    point sampling from a random start), ``'first'`` (the first points, a
    deterministic choice for files that are already shuffled). With fewer
    points than asked, all points are kept and random duplicates pad the rest;
    when more than half of the result would be duplicates, a warning names the
    sample's ``file`` (once per file). The readers refuse clouds below
    :data:`~tap3d.datasets.io.MIN_POINTS` before they get here.

    Required keys: points (N, 3). Modified: every per-point key -> (num_points, ...).
    """

    def __init__(self, num_points: int, method: str = 'random') -> None:
        if method not in ('random', 'fps', 'first'):
            raise ValueError(f"method must be 'random', 'fps' or 'first', got {method!r}")
        self.num_points = num_points
        self.method = method

    def transform(self, results: dict) -> dict:
        n, m = len(results['points']), self.num_points
        if n < m:
            extra = padding_indices(n, m, str(results.get('file', '<a cloud without file>')))
            index = np.concatenate([np.arange(n), extra])
        elif self.method == 'random':
            index = np.random.choice(n, m, replace=False)
        elif self.method == 'fps':
            index = farthest_point_sample(results['points'], m, np.random.randint(n))
        else:
            index = np.arange(m)
        return index_per_point(results, index)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_points={self.num_points}, method={self.method!r})'


@TRANSFORMS.register_module()
class ShufflePoints(BaseTransform):
    """Randomly permute the points (and every per-point key with them)."""

    def transform(self, results: dict) -> dict:
        return index_per_point(results, np.random.permutation(len(results['points'])))


def _scale_normals(results: dict, scale: np.ndarray) -> None:
    # A normal transforms by the inverse(-transpose) of a diagonal scale.
    if results.get('normals') is not None:
        normals = results['normals'] / scale
        norm = np.linalg.norm(normals, axis=1, keepdims=True)
        results['normals'] = (normals / np.maximum(norm, 1e-12)).astype(np.float32)


@TRANSFORMS.register_module()
class RandomScale(BaseTransform):
    """Multiply the points by a random factor drawn from U[scale_range].

    Args:
        scale_range: (low, high).
        anisotropic: one factor per axis if True, else one for all.

    Effect on TAP views: the view framing (docs/tap.md §5) normalises each view by
    the object's extent and centre, so an isotropic scale changes nothing in
    the camera-plane layout, and ``NormalizePoints`` after it undoes it
    entirely. An anisotropic scale stretches the object, so the framing of the
    scaled points no longer matches the stored photograph exactly (by up to the
    scale spread, 10% for [0.9, 1.1]): the model is asked to photograph an
    object slightly different from the one on the picture, which is what the
    authors' pipeline does too (their scaling is anisotropic by default).

    Required keys: points. Modified: points, normals.
    """

    def __init__(self, scale_range: Sequence[float] = (0.9, 1.1),
                 anisotropic: bool = False) -> None:
        self.scale_range = tuple(scale_range)
        self.anisotropic = anisotropic

    def transform(self, results: dict) -> dict:
        lo, hi = self.scale_range
        scale = np.random.uniform(lo, hi, 3 if self.anisotropic else 1)
        scale = np.broadcast_to(scale, (3,)).astype(np.float32)
        results['points'] = (results['points'][:, :3] * scale).astype(np.float32)
        if self.anisotropic:
            _scale_normals(results, scale)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale_range={self.scale_range}, '
                f'anisotropic={self.anisotropic})')


@TRANSFORMS.register_module()
class RandomScaleTranslate(BaseTransform):
    """Point-BERT / Point-MAE ``PointcloudScaleAndTranslate``.

    Each axis is scaled by U[scale_range] and shifted by U[-t, t].

    Required keys: points. Modified: points, normals.
    """

    def __init__(self, scale_range: Sequence[float] = (2. / 3., 3. / 2.),
                 translate_range: float = 0.2) -> None:
        self.scale_range = tuple(scale_range)
        self.translate_range = translate_range

    def transform(self, results: dict) -> dict:
        lo, hi = self.scale_range
        scale = np.random.uniform(lo, hi, 3).astype(np.float32)
        shift = np.random.uniform(-self.translate_range, self.translate_range,
                                  3).astype(np.float32)
        results['points'] = (results['points'][:, :3] * scale + shift).astype(np.float32)
        _scale_normals(results, scale)
        return results


def rotation_about_axis(angle: float, axis: int = 2) -> np.ndarray:
    """(3, 3) right-handed rotation by ``angle`` radians about coordinate ``axis``."""
    c, s = math.cos(angle), math.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    rot = np.eye(3)
    rot[i, i], rot[i, j], rot[j, i], rot[j, j] = c, -s, s, c
    return rot


@TRANSFORMS.register_module()
class RandomRotateUp(BaseTransform):
    """Rotate about the up axis by an angle drawn from U[angle_range].

    Args:
        angle_range: (low, high) in radians, or one number a for (-a, a).
        axis: index of the up axis (2 = z after tap3d's loaders; ScanObjectNN
            and ModelNet40 files are y-up, 1, if a reader keeps their axes).

    With TAP views present (``view_rotations``), each pose R becomes R Rzᵀ, so
    that R Rzᵀ (Rz p) = R p: every point lands on the same pixel as before and
    the stored photographs stay exact. The poses are then no longer the 12
    fixed ones; that is consistent, since the model is told the true pose.

    Required keys: points. Modified: points, normals, view_rotations.
    """

    def __init__(self, angle_range: Union[float, Sequence[float]] = (-math.pi, math.pi),
                 axis: int = 2) -> None:
        if isinstance(angle_range, (int, float)):
            angle_range = (-angle_range, angle_range)
        self.angle_range = tuple(angle_range)
        self.axis = axis

    def transform(self, results: dict) -> dict:
        angle = np.random.uniform(*self.angle_range)
        rot = rotation_about_axis(angle, self.axis).astype(np.float32)
        results['points'] = (results['points'][:, :3] @ rot.T).astype(np.float32)
        if results.get('normals') is not None:
            results['normals'] = (results['normals'] @ rot.T).astype(np.float32)
        if results.get('view_rotations') is not None:
            results['view_rotations'] = (results['view_rotations'] @ rot.T).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(angle_range={self.angle_range}, axis={self.axis})'


@TRANSFORMS.register_module()
class RandomJitter(BaseTransform):
    """Add clipped Gaussian noise N(0, sigma²), clipped to [-clip, clip], to points."""

    def __init__(self, sigma: float = 0.01, clip: float = 0.05) -> None:
        self.sigma, self.clip = sigma, clip

    def transform(self, results: dict) -> dict:
        pts = results['points']
        noise = np.clip(np.random.randn(*pts.shape) * self.sigma, -self.clip, self.clip)
        results['points'] = (pts + noise).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class NormalizePoints(BaseTransform):
    """Centre the points on their centroid and scale them into the unit sphere.

    TAP framing is invariant to translation and isotropic scale, so the
    stored views stay exact. Required keys: points. Modified: points.
    """

    def transform(self, results: dict) -> dict:
        pts = results['points'][:, :3].astype(np.float64)
        pts = pts - pts.mean(axis=0)
        radius = np.sqrt((pts ** 2).sum(axis=1)).max()
        results['points'] = (pts / max(radius, 1e-12)).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class AddHeight(BaseTransform):
    """Store ``height`` (N, 1): each point's height above the lowest point.

    Args:
        axis: the up axis (2 = z).
    """

    def __init__(self, axis: int = 2) -> None:
        self.axis = axis

    def transform(self, results: dict) -> dict:
        z = results['points'][:, self.axis:self.axis + 1]
        results['height'] = (z - z.min()).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class BuildFeats(BaseTransform):
    """Build the model's per-point input ``feats`` (N, C) by concatenation.

    Args:
        components: any of ``'xyz'`` (points, 3), ``'height'`` (1; z minus
            min z, computed here if ``AddHeight`` did not run), ``'normals'``
            (3), ``'colors'`` (3, scaled to [0, 1] when stored as 0..255).
            The default ``('xyz', 'height')`` is the 4-channel input of TAP's
            PointMLP / PointNet++ / DGCNN recipes.
        axis: the up axis for ``'height'``.
    """

    def __init__(self, components: Sequence[str] = ('xyz', 'height'), axis: int = 2) -> None:
        unknown = set(components) - {'xyz', 'height', 'normals', 'colors'}
        if unknown:
            raise ValueError(f'unknown feats components {sorted(unknown)}')
        self.components = tuple(components)
        self.axis = axis

    def transform(self, results: dict) -> dict:
        parts = []
        for comp in self.components:
            if comp == 'xyz':
                parts.append(results['points'][:, :3])
            elif comp == 'height':
                if results.get('height') is None:
                    z = results['points'][:, self.axis:self.axis + 1]
                    parts.append(z - z.min())
                else:
                    parts.append(results['height'])
            elif comp in results and results[comp] is not None:
                value = results[comp].astype(np.float32)
                if comp == 'colors' and value.max() > 1.0:
                    value = value / 255.0
                parts.append(value)
            else:
                raise KeyError(f'BuildFeats needs {comp!r} but the sample has none')
        results['feats'] = np.concatenate(parts, axis=1).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(components={self.components}, axis={self.axis})'
