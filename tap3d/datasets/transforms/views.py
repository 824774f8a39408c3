"""TAP views of scenes: photograph coloured points with the TAP poses.

Object samples read their views from disk (:class:`~tap3d.datasets.ShapeNet55Dataset`);
scenes are photographed on the fly, after every transform that moves or drops points,
so the views are framed (docs/tap.md §5) by the very ``coord`` the model receives.
Keys: see :mod:`.keys`.
"""
import math

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from tap3d.registry import TRANSFORMS

__all__ = ['RenderSceneViews']


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
