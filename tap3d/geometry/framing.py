"""Framing: where a point lands in a view image (docs/tap.md §5, paper Eq. 3-4).

For one sample and one view, with the rotated points ``Q = P R^T``::

    m     = min over points of Q[:, :2]
    s     = max(range_x, range_y) / (obj_size - 3)
    idx   = floor((Q[:, :2] - m) / s)
    c     = floor((max idx + min idx) / 2)        # centre cell, per axis
    o     = obj_size / 2 - c - 1
    pad   = (img_size - obj_size) / 2
    pixel = idx + o + pad                         # (row, col)

The same map, as an affine function of the continuous pixel coordinate
``u = (row, col)``, is ``q = s * u + b`` with ``b = m - s * (o + pad)``; the row
follows x_cam and the column follows y_cam. Pixel ``(i, j)`` covers
``u in [i, i+1) x [j, j+1)`` and its centre is ``(i + 1/2, j + 1/2)``.

The renderer and the TAP query generator both call :func:`compute_framing`,
so a query's optical line passes exactly through the object points that the
rendered pixel shows.

Floating point: the points that define the frame (the minimum and the
maximum along the longer axis) fall exactly on cell borders, where rounding
could move them by one cell. Every ``floor`` here therefore adds
:data:`FLOOR_TOLERANCE` (a fraction of a cell) before rounding down.
"""
from typing import Optional, Sequence, Tuple

import torch

__all__ = [
    'compute_framing', 'project_points', 'pixel_indices', 'optical_lines',
    'camera_points', 'FLOOR_TOLERANCE'
]

#: Fraction of a cell added before every ``floor`` to absorb rounding error.
FLOOR_TOLERANCE = 1e-4
# Smallest pixel size relative to the coordinates' magnitude (see compute_framing).
_MIN_REL_SCALE = 1e-5


def _check_frame_sizes(img_size: int, obj_size: int) -> None:
    if int(obj_size) != obj_size or int(img_size) != img_size:
        raise ValueError(f'img_size and obj_size must be integers, got {img_size}, {obj_size}')
    if obj_size <= 3 or obj_size % 2:
        raise ValueError(f'obj_size must be an even integer > 3, got {obj_size}')
    if img_size < obj_size or (img_size - obj_size) % 2:
        raise ValueError('img_size - obj_size must be even and >= 0, got '
                         f'img_size={img_size}, obj_size={obj_size}')


def _check_points_rotations(points: torch.Tensor, rotations: torch.Tensor, fn: str) -> None:
    if points.dim() != 3 or points.shape[-1] != 3:
        raise ValueError(f'{fn}: points must be (B, N, 3), got {tuple(points.shape)}')
    if rotations.dim() != 4 or rotations.shape[-2:] != (3, 3):
        raise ValueError(f'{fn}: rotations must be (B, V, 3, 3), got {tuple(rotations.shape)}')
    if rotations.shape[0] != points.shape[0]:
        raise ValueError(f'{fn}: points and rotations disagree on the batch size: '
                         f'{points.shape[0]} vs {rotations.shape[0]}')


def _work_dtype(*tensors: torch.Tensor) -> torch.dtype:
    # half precision is too coarse for pixel positions in a 224-pixel image
    dtype = torch.promote_types(tensors[0].dtype, tensors[1].dtype)
    return torch.promote_types(dtype, torch.float32)


def camera_points(points: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
    """Points in the camera frame of every view, ``Q = P R^T``.

    Args:
        points: (B, N, 3) world coordinates.
        rotations: (B, V, 3, 3) world-to-camera rotations.

    Returns:
        (B, V, N, 3) camera coordinates (x_cam, y_cam, z_cam).
    """
    _check_points_rotations(points, rotations, 'camera_points')
    dtype = _work_dtype(points, rotations)
    return torch.einsum('bnc,bvdc->bvnd', points.to(dtype), rotations.to(dtype))


def _plane_points(points: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
    """(B, V, N, 2) image-plane coordinates (x_cam, y_cam); skips z_cam."""
    _check_points_rotations(points, rotations, 'compute_framing')
    dtype = _work_dtype(points, rotations)
    return torch.einsum('bnc,bvdc->bvnd', points.to(dtype), rotations[:, :, :2].to(dtype))


def compute_framing(points: torch.Tensor,
                    rotations: torch.Tensor,
                    img_size: int = 224,
                    obj_size: int = 200,
                    mask: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Scale and offset of the affine pixel-to-plane map ``q = s * u + b``.

    Args:
        points: (B, N, 3) the points the model sees (e.g. the 1024 sampled
            points of a shape).
        rotations: (B, V, 3, 3) world-to-camera rotations.
        img_size: image side in pixels.
        obj_size: side of the square, centred in the image, that the object
            fills.
        mask: optional (B, N) bool, True = valid point; padded points of a
            scene batch are ignored.

    Returns:
        s: (B, V) camera-plane length of one pixel.
        b: (B, V, 2) camera-plane point (x_cam, y_cam) of pixel coordinate
            ``u = (0, 0)``.
    """
    _check_frame_sizes(img_size, obj_size)
    q = _plane_points(points, rotations)  # (B, V, N, 2)
    if mask is not None:
        if mask.shape != points.shape[:2]:
            raise ValueError(f'compute_framing: mask must be (B, N) = {tuple(points.shape[:2])}, '
                             f'got {tuple(mask.shape)}')
        mask = mask.to(torch.bool)
        if not bool(mask.any(dim=1).all()):
            raise ValueError('compute_framing: every sample needs at least one valid point')
        valid = mask[:, None, :, None]  # (B, 1, N, 1)
        q_min = q.masked_fill(~valid, float('inf')).amin(dim=2)
        q_max = q.masked_fill(~valid, float('-inf')).amax(dim=2)
    else:
        if points.shape[1] == 0:
            raise ValueError('compute_framing: the point set is empty')
        valid = None
        q_min, q_max = q.amin(dim=2), q.amax(dim=2)
    # (B, V, 2) each
    extent = (q_max - q_min).amax(dim=-1)
    # A (nearly) single point would divide by zero, and a scale far below the
    # coordinates' rounding error would turn b - q into noise; a floor relative
    # to the coordinate magnitude keeps u within ~0.01 pixel of exact.
    magnitude = torch.maximum(q_min.abs(), q_max.abs()).amax(dim=-1)
    s = torch.maximum(extent / (obj_size - 3), _MIN_REL_SCALE * (1 + magnitude))
    idx = torch.floor((q - q_min.unsqueeze(2)) / s[..., None, None] + FLOOR_TOLERANCE)
    if valid is not None:
        idx_max = idx.masked_fill(~valid, float('-inf')).amax(dim=2)
        idx_min = idx.masked_fill(~valid, float('inf')).amin(dim=2)
    else:
        idx_max, idx_min = idx.amax(dim=2), idx.amin(dim=2)
    centre = torch.floor((idx_max + idx_min) / 2)
    offset = obj_size // 2 - centre - 1
    pad = (img_size - obj_size) // 2
    b = q_min - s.unsqueeze(-1) * (offset + pad)
    return s, b


def project_points(points: torch.Tensor, rotations: torch.Tensor, s: torch.Tensor,
                   b: torch.Tensor) -> torch.Tensor:
    """Continuous pixel coordinates ``u = (q - b) / s`` of every point in every view.

    Args:
        points: (B, N, 3) world coordinates.
        rotations: (B, V, 3, 3).
        s: (B, V) and b: (B, V, 2) from :func:`compute_framing`.

    Returns:
        (B, V, N, 2) coordinates (row, col); pixel ``(i, j)`` covers
        ``[i, i+1) x [j, j+1)``.
    """
    q = _plane_points(points, rotations)
    return (q - b.to(q.dtype).unsqueeze(2)) / s.to(q.dtype)[..., None, None]


def pixel_indices(points: torch.Tensor, rotations: torch.Tensor, s: torch.Tensor,
                  b: torch.Tensor) -> torch.Tensor:
    """Integer pixel (row, col) of every point: ``floor(u)``, i.e. ``idx + o + pad``.

    Args:
        points: (B, N, 3), rotations: (B, V, 3, 3), s: (B, V), b: (B, V, 2).

    Returns:
        (B, V, N, 2) int64 pixel indices. Points outside the image give
        indices outside ``[0, img_size)``; callers clip or drop them.
    """
    u = project_points(points, rotations, s, b)
    return torch.floor(u + FLOOR_TOLERANCE).long()


def optical_lines(rotations: torch.Tensor,
                  s: torch.Tensor,
                  b: torch.Tensor,
                  grid_hw: Sequence[int] = (7, 7),
                  cell: int = 32,
                  authors_direction: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
    """Optical line of every cell of a down-sampled view grid (docs/tap.md §6).

    Cell (i, j) has its centre at pixel ``u_ij = ((i + 1/2) cell, (j + 1/2) cell)``
    and its camera-plane point ``q_ij = s u_ij + b``. Every point that
    projects to ``q_ij`` lies on the line ``{O_ij + t D}``.

    Args:
        rotations: (B, V, 3, 3) world-to-camera rotations.
        s: (B, V), b: (B, V, 2) from :func:`compute_framing`.
        grid_hw: (H', W') cells, e.g. ``img_size // cell`` each.
        cell: pixels per cell side (the generator's down-sampling ratio).
        authors_direction: return the third COLUMN of R, as the reference code
            does, instead of the optical direction (the third ROW). For the
            fixed views that column is the same for every azimuth.

    Returns:
        origins: (B, V, H', W', 3) ``O_ij = R^T[:, :2] q_ij``, the line's point on
            the plane z_cam = 0, in world coordinates.
        direction: (B, V, 3) unit vector ``D = R^T e_z``, pointing from the
            object towards the camera; the same for every cell.
    """
    if rotations.dim() != 4 or rotations.shape[-2:] != (3, 3):
        raise ValueError('optical_lines: rotations must be (B, V, 3, 3), '
                         f'got {tuple(rotations.shape)}')
    if s.shape != rotations.shape[:2] or b.shape != rotations.shape[:2] + (2,):
        raise ValueError('optical_lines: s must be (B, V) and b (B, V, 2) matching rotations, got '
                         f'{tuple(s.shape)} and {tuple(b.shape)}')
    h, w = int(grid_hw[0]), int(grid_hw[1])
    dtype = torch.promote_types(torch.promote_types(rotations.dtype, s.dtype), torch.float32)
    device = rotations.device
    rows = (torch.arange(h, device=device, dtype=dtype) + 0.5) * cell
    cols = (torch.arange(w, device=device, dtype=dtype) + 0.5) * cell
    u = torch.stack(torch.meshgrid(rows, cols, indexing='ij'), dim=-1)  # (H', W', 2)
    q = s.to(dtype)[..., None, None, None] * u + b.to(dtype)[:, :, None, None, :]
    rot = rotations.to(dtype)
    # R^T (q_x, q_y, 0) = q_x * R[0, :] + q_y * R[1, :]
    origins = torch.einsum('bvhwk,bvkc->bvhwc', q, rot[:, :, :2, :])
    if authors_direction:
        direction = rot[:, :, :, 2]
    else:
        direction = rot[:, :, 2, :]
    direction = torch.nn.functional.normalize(direction, dim=-1)
    return origins, direction
