"""Ground-truth views of coloured point clouds (scenes, per-label pictures).

Each point is splatted as a small square of pixels around the pixel it
projects to (:func:`tap3d.geometry.pixel_indices`), and the nearest point
wins each pixel. The camera convention and the framing are those of
:func:`tap3d.rendering.render_mesh`.
"""
from typing import Optional, Union

import numpy as np
import torch

from tap3d.geometry import compute_framing, pixel_indices

from .shading import lambert, to_uint8
from .zbuffer import MISS_DEPTH, new_buffer, normalize_depth, pack_keys, resolve_ids

__all__ = ['render_points']

Array = Union[np.ndarray, torch.Tensor]


def _as_tensor(x: Array, device, dtype=None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.to(device=device, dtype=dtype or x.dtype)
    return torch.as_tensor(np.asarray(x), device=device, dtype=dtype)


def _colors01(colors: Array, n: int, device) -> torch.Tensor:
    """(N, 3) colours as float in [0, 1]: uint8 is divided by 255, floats must be in [0, 1]."""
    c = _as_tensor(colors, device)
    if c.shape != (n, 3):
        raise ValueError(f'render_points: colors must be ({n}, 3), got {tuple(c.shape)}')
    if c.dtype == torch.uint8:
        return c.float() / 255
    if not c.is_floating_point():
        raise ValueError(f'render_points: colors must be uint8 (0..255) or float (0..1), '
                         f'got {c.dtype}')
    c = c.float()
    if n and (float(c.min()) < 0 or float(c.max()) > 1):
        raise ValueError('render_points: float colors must lie in [0, 1] '
                         '(pass uint8 for 0..255 colours)')
    return c


def render_points(points: Array,
                  colors: Array,
                  rotations: Array,
                  framing_points: Optional[Array] = None,
                  img_size: int = 224,
                  obj_size: int = 200,
                  point_radius_px: int = 1,
                  normals: Optional[Array] = None) -> torch.Tensor:
    """Render coloured points as z-buffered square splats on a white background.

    Args:
        points: (N, 3) coordinates.
        colors: (N, 3) uint8 in 0..255 or float in [0, 1].
        rotations: (K, 3, 3) world-to-camera rotations; the render runs on
            their device when they are a tensor, else on ``points``' device.
        framing_points: (M, 3) points that define the frame
            (:func:`tap3d.geometry.compute_framing`); ``None`` uses ``points``.
        img_size, obj_size: image side and object box side in pixels.
        point_radius_px: each point covers the ``(2 r + 1)^2`` pixels around
            its own; 0 draws single pixels.
        normals: optional (N, 3) normals; when given, colours are shaded with
            the same light as meshes (ambient + two-sided Lambertian).

    Returns:
        (K, img_size, img_size, 3) uint8 images on the render device;
        background exactly 255, points at most 254.
    """
    device = rotations.device if isinstance(rotations, torch.Tensor) else (
        points.device if isinstance(points, torch.Tensor) else None)
    rot = _as_tensor(rotations, device, torch.float32)
    pts = _as_tensor(points, rot.device, torch.float32)
    if rot.dim() != 3 or rot.shape[-2:] != (3, 3):
        raise ValueError(f'render_points: rotations must be (K, 3, 3), got {tuple(rot.shape)}')
    if pts.dim() != 2 or pts.shape[1] != 3 or len(pts) == 0:
        raise ValueError(f'render_points: points must be (N, 3) with N > 0, got {tuple(pts.shape)}')
    if int(point_radius_px) != point_radius_px or point_radius_px < 0:
        raise ValueError(f'render_points: point_radius_px must be an integer >= 0, '
                         f'got {point_radius_px}')
    n, k, r = len(pts), rot.shape[0], int(point_radius_px)
    rgb = _colors01(colors, n, rot.device)
    frame = pts if framing_points is None else _as_tensor(framing_points, rot.device, torch.float32)
    s, b = compute_framing(frame[None], rot[None], img_size, obj_size)

    pix = pixel_indices(pts[None], rot[None], s, b)[0]  # (K, N, 2)
    depth = normalize_depth(-torch.einsum('nc,kc->kn', pts, rot[:, 2]))  # (K, N)
    offs = torch.arange(-r, r + 1, device=rot.device)
    dr = offs.repeat_interleave(2 * r + 1)
    dc = offs.repeat(2 * r + 1)
    rows = pix[..., 0:1] + dr  # (K, N, S)
    cols = pix[..., 1:2] + dc
    inside = (rows >= 0) & (rows < img_size) & (cols >= 0) & (cols < img_size)
    view = torch.arange(k, device=rot.device)[:, None, None]
    flat = (view * img_size + rows.clamp(0, img_size - 1)) * img_size + cols.clamp(0, img_size - 1)
    key = pack_keys(torch.where(inside, depth[..., None], MISS_DEPTH),
                    torch.arange(n, device=rot.device)[:, None])
    keys = new_buffer(k * img_size * img_size, rot.device)
    keys.scatter_reduce_(0, flat.reshape(-1), key.reshape(-1), reduce='amin', include_self=True)
    ids = resolve_ids(keys).view(k, img_size, img_size)

    hit = ids >= 0
    if normals is not None:
        nrm = _as_tensor(normals, rot.device, torch.float32)
        if nrm.shape != (n, 3):
            raise ValueError(f'render_points: normals must be ({n}, 3), got {tuple(nrm.shape)}')
        light = lambert(torch.einsum('nc,kdc->knd', nrm, rot))  # (K, N)
        shade = torch.gather(light, 1, ids.clamp_min(0).view(k, -1)).view(k, img_size, img_size)
        color = rgb[ids.clamp_min(0)] * shade.unsqueeze(-1)
    else:
        color = rgb[ids.clamp_min(0)]
    return to_uint8(color, hit)
