"""Geometric transforms: move, scale, rotate, flip or distort the points.

Every transform here moves what moves with the points: ``normal`` (by the inverse
transpose, re-normalised), the detection boxes ``gt_bboxes_3d`` (re-fitted as
axis-aligned boxes, :mod:`tap3d.geometry.boxes`) and, for rotations, the TAP poses
``view_rotations``, so that stored photographs stay exact. Keys: see :mod:`.keys`.
"""
import math
from typing import Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform

from tap3d.geometry.boxes import flip_boxes, rotate_boxes, rotation_about_axis, scale_boxes
from tap3d.registry import TRANSFORMS

from .keys import get_boxes

__all__ = [
    'NormalizePoints', 'CenterShift', 'RandomScale', 'RandomScaleTranslate', 'RandomRotate',
    'RandomTilt', 'RandomFlip3D', 'RandomJitter', 'ElasticDistortion'
]


def _scale_normal(results: dict, factor: np.ndarray) -> None:
    # A normal transforms by the inverse(-transpose) of a diagonal scale.
    if results.get('normal') is not None:
        normal = results['normal'] / factor
        norm = np.linalg.norm(normal, axis=1, keepdims=True)
        results['normal'] = (normal / np.maximum(norm, 1e-12)).astype(np.float32)


def _rotate(results: dict, rot: np.ndarray, center: np.ndarray) -> None:
    """Turn coord, normal, boxes and TAP poses by ``rot`` (3, 3) about ``center`` (3,)."""
    coord = (np.asarray(results['coord'], dtype=np.float64) - center) @ rot.T + center
    results['coord'] = coord.astype(np.float32)
    if results.get('normal') is not None:
        results['normal'] = (results['normal'] @ rot.T).astype(np.float32)
    boxes = get_boxes(results)
    if boxes is not None and len(boxes):
        results['gt_bboxes_3d'] = rotate_boxes(boxes, rot, center)
    if results.get('view_rotations') is not None:
        # pose R becomes R rotᵀ: R rotᵀ (rot p) = R p, every point keeps its pixel (the
        # framing absorbs the translation of a centre other than the origin)
        results['view_rotations'] = (results['view_rotations'] @ rot.T).astype(np.float32)


@TRANSFORMS.register_module()
class NormalizePoints(BaseTransform):
    """Centre the points on their centroid and scale them into the unit sphere.

    TAP framing is invariant to translation and isotropic scale, so stored views
    stay exact. Required keys: coord. Modified: coord.
    """

    def transform(self, results: dict) -> dict:
        coord = np.asarray(results['coord'], dtype=np.float64)
        coord = coord - coord.mean(axis=0)
        radius = np.sqrt((coord ** 2).sum(axis=1)).max()
        results['coord'] = (coord / max(radius, 1e-12)).astype(np.float32)
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
        boxes = get_boxes(results)
        if boxes is not None:
            boxes[:, :3] -= shift
        results['center_shift'] = results.get('center_shift', np.zeros(3, np.float32)) + shift
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(apply_z={self.apply_z})'


@TRANSFORMS.register_module()
class RandomScale(BaseTransform):
    """Scale about the origin by a factor drawn from U[scale_range].

    Args:
        scale_range: (low, high).
        anisotropic: one factor per axis if True, else one for all.
        scale_normal: move ``normal`` with an anisotropic scale (by the inverse
            factor, re-normalised, so normals stay perpendicular to the surface).
            False leaves them as they are, as openpoints' ``PointCloudScaling``
            does (the TAP authors' ShapeNetPart recipe).

    Effect on TAP views: the view framing (docs/tap.md §5) normalises each view by
    the object's extent and centre, so an isotropic scale changes nothing in the
    camera-plane layout, and ``NormalizePoints`` after it undoes it entirely. An
    anisotropic scale stretches the object, so the framing of the scaled points no
    longer matches the stored photograph exactly (by up to the scale spread, 10 % for
    [0.9, 1.1]): the model is asked to photograph an object slightly different from
    the one on the picture, which is what the authors' pipeline does too (their
    scaling is anisotropic by default).

    Required keys: coord. Modified: coord, normal, gt_bboxes_3d.
    """

    def __init__(self, scale_range: Sequence[float] = (0.9, 1.1),
                 anisotropic: bool = False, scale_normal: bool = True) -> None:
        self.scale_range = tuple(scale_range)
        self.anisotropic = anisotropic
        self.scale_normal = scale_normal

    def transform(self, results: dict) -> dict:
        lo, hi = self.scale_range
        factor = np.random.uniform(lo, hi, 3 if self.anisotropic else 1)
        factor = np.broadcast_to(factor, (3, )).astype(np.float32)
        results['coord'] = (results['coord'] * factor).astype(np.float32)
        if self.anisotropic and self.scale_normal:
            _scale_normal(results, factor)
        boxes = get_boxes(results)
        if boxes is not None:
            results['gt_bboxes_3d'] = scale_boxes(boxes, factor)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale_range={self.scale_range}, '
                f'anisotropic={self.anisotropic}, scale_normal={self.scale_normal})')


@TRANSFORMS.register_module()
class RandomScaleTranslate(BaseTransform):
    """Point-BERT / Point-MAE ``PointcloudScaleAndTranslate``.

    Each axis is scaled by U[scale_range] and shifted by U[-t, t].

    Required keys: coord. Modified: coord, normal.
    """

    def __init__(self, scale_range: Sequence[float] = (2. / 3., 3. / 2.),
                 translate_range: float = 0.2) -> None:
        self.scale_range = tuple(scale_range)
        self.translate_range = translate_range

    def transform(self, results: dict) -> dict:
        lo, hi = self.scale_range
        factor = np.random.uniform(lo, hi, 3).astype(np.float32)
        shift = np.random.uniform(-self.translate_range, self.translate_range,
                                  3).astype(np.float32)
        results['coord'] = (results['coord'] * factor + shift).astype(np.float32)
        _scale_normal(results, factor)
        return results


@TRANSFORMS.register_module()
class RandomRotate(BaseTransform):
    """Rotate about a coordinate axis through ``center`` by an angle from U[angle_range].

    Object recipes turn about the up axis (``axis=2``, z after tap3d's readers);
    3DETR turns scenes by ±5°, Pointcept by ±180° with ``p=0.5``.

    With TAP views present (``view_rotations``), each pose R becomes R Rzᵀ, so that
    R Rzᵀ (Rz p) = R p: every point lands on the same pixel as before and the stored
    photographs stay exact. The poses are then no longer the 12 fixed ones; that is
    consistent, since the model is told the true pose. Axis-aligned boxes are
    rotated and re-fitted (their extent grows, as in 3DETR).

    Args:
        angle_range: (low, high) in radians, or one number a for (-a, a).
        axis: the coordinate axis to turn about (0 = x, 1 = y, 2 = z).
        p: probability of rotating at all.
        center: (3,) a point on the rotation axis; default the origin (run
            :class:`CenterShift` first to turn a scene about its centre).

    Required keys: coord. Modified: coord, normal, gt_bboxes_3d, view_rotations.
    """

    def __init__(self, angle_range: Union[float, Sequence[float]] = (-math.pi, math.pi),
                 axis: int = 2, p: float = 1.0,
                 center: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
        if isinstance(angle_range, (int, float)):
            angle_range = (-angle_range, angle_range)
        if axis not in (0, 1, 2):
            raise ValueError(f'RandomRotate axis must be 0, 1 or 2, got {axis!r}')
        self.angle_range, self.axis, self.p = tuple(angle_range), axis, p
        self.center = np.asarray(center, dtype=np.float64)

    def transform(self, results: dict) -> dict:
        if self.p < 1 and np.random.rand() >= self.p:
            return results
        angle = np.random.uniform(*self.angle_range)
        _rotate(results, rotation_about_axis(angle, self.axis), self.center)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(angle_range={self.angle_range}, axis={self.axis}, '
                f'p={self.p}, center={tuple(self.center.tolist())})')


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
            angle = np.random.uniform(-self.max_angle, self.max_angle)
            rot = rotation_about_axis(angle, axis) @ rot
        _rotate(results, rot, np.zeros(3))
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(max_angle={self.max_angle}, p={self.p})'


@TRANSFORMS.register_module()
class RandomFlip3D(BaseTransform):
    """Mirror the points across the planes x = 0 and/or y = 0.

    Each listed axis flips independently with probability ``p`` (3DETR flips x and y
    with p = 0.5 each). Normals and box centres flip with the points. A mirror image
    is not a rotation, so photographs already in the sample cannot follow: put
    :class:`RenderSceneViews` after it.

    Args:
        p: flip probability per axis.
        axes: axes that may flip (0 = x, 1 = y, 2 = z).
    """

    def __init__(self, p: float = 0.5, axes: Sequence[int] = (0, 1)) -> None:
        self.p, self.axes = p, tuple(axes)

    def transform(self, results: dict) -> dict:
        for axis in self.axes:
            if np.random.rand() >= self.p:
                continue
            if results.get('views') is not None:
                raise ValueError('RandomFlip3D cannot mirror a sample whose views are '
                                 'already rendered; flip before RenderSceneViews')
            # copy first: never write into arrays the caller may still hold
            results['coord'] = np.array(results['coord'], dtype=np.float32)
            results['coord'][:, axis] = -results['coord'][:, axis]
            if results.get('normal') is not None:
                results['normal'] = np.array(results['normal'], dtype=np.float32)
                results['normal'][:, axis] = -results['normal'][:, axis]
            boxes = get_boxes(results)
            if boxes is not None:
                results['gt_bboxes_3d'] = flip_boxes(boxes, axis)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(p={self.p}, axes={self.axes})'


@TRANSFORMS.register_module()
class RandomJitter(BaseTransform):
    """Add N(0, sigma²) noise, clipped to [-clip, clip], to every point's coord.

    Object recipes use ``sigma=0.01, clip=0.05``; Pointcept's scenes ``0.005, 0.02``.
    """

    def __init__(self, sigma: float = 0.01, clip: float = 0.05) -> None:
        if clip <= 0:
            raise ValueError(f'RandomJitter clip must be > 0, got {clip}')
        self.sigma, self.clip = sigma, clip

    def transform(self, results: dict) -> dict:
        coord = results['coord']
        noise = np.clip(self.sigma * np.random.randn(*coord.shape), -self.clip, self.clip)
        results['coord'] = (coord + noise).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(sigma={self.sigma}, clip={self.clip})'


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
        if get_boxes(results) is not None:
            raise ValueError('ElasticDistortion cannot move detection boxes; use it for '
                             'segmentation pipelines only')
        coord = np.asarray(results['coord'], dtype=np.float64)
        for granularity, magnitude in self.distortion_params:
            coord = self.distort(coord, granularity, magnitude)
        results['coord'] = coord.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(distortion_params={self.distortion_params}, '
                f'p={self.p})')
