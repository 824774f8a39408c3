"""Triangle rasteriser in plain torch (CPU and CUDA).

Every triangle is tested at the pixel centres of its bounding box. Triangles
are grouped by the size of that box, so one group is a dense
(triangles x box pixels) block: its barycentric coordinates and depth come
from ONE matrix product with a fixed pixel-offset grid, and visibility is
resolved by a single ``scatter_reduce(amin)`` of packed (depth, id) keys.
A few large vectorised ops per group, no Python loop over triangles, and
bounded memory (groups are processed in chunks).
"""
import torch

from .zbuffer import ID_BITS, MISS_DEPTH, new_buffer, pack_keys, resolve_ids

__all__ = ['rasterize_triangles']

# Barycentric slack so that pixel centres on a shared edge are never missed.
_INSIDE_EPS = 1e-5
# Boxes up to this many pixels per side are grouped by their exact size;
# larger ones by the next power of two, with the surplus masked out.
_EXACT_SIDE = 8


def _cross(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _next_pow2(x: torch.Tensor) -> torch.Tensor:
    return torch.pow(2, torch.ceil(torch.log2(x.clamp_min(1).float()))).long()


def _group_sizes(extent: torch.Tensor) -> torch.Tensor:
    """Side lengths of the dense block each triangle is tested in, (T, 2)."""
    return torch.where(extent <= _EXACT_SIDE, extent, _next_pow2(extent))


def _plane_coefficients(uv: torch.Tensor, depth: torch.Tensor, p0: torch.Tensor) -> torch.Tensor:
    """Affine planes of the barycentrics and the depth over pixel offsets.

    Args:
        uv: (T, 3, 2) corners (row, col); depth: (T, 3); p0: (T, 2) the first
            pixel centre of each box.

    Returns:
        (T, 4, 3): rows lambda_a, lambda_b, lambda_c, depth; each value at
        pixel offset (dr, dc) from p0 is ``row @ (dr, dc, 1)``.
    """
    a, b, c = uv.unbind(1)
    area2 = _cross(b - a, c - a)
    inv_area = 1.0 / torch.where(area2 == 0, torch.ones_like(area2), area2)

    def plane(e, base):
        # lambda(p) = cross(e, p - base) / area2, relative to p0 so that large
        # absolute pixel coordinates do not cancel in float32
        return torch.stack([-e[:, 1] * inv_area, e[:, 0] * inv_area,
                            _cross(e, p0 - base) * inv_area], dim=-1)

    lam_a = plane(c - b, b)
    lam_b = plane(a - c, c)
    lam_c = -lam_a - lam_b
    lam_c[:, 2] += 1
    za, zb, zc = depth.unbind(1)
    lam_z = za[:, None] * lam_a + zb[:, None] * lam_b + zc[:, None] * lam_c
    return torch.stack([lam_a, lam_b, lam_c, lam_z], dim=1)


def rasterize_triangles(uv: torch.Tensor,
                        depth: torch.Tensor,
                        height: int,
                        width: int,
                        max_fragments: int = 1 << 21) -> torch.Tensor:
    """Index of the nearest triangle at every pixel centre.

    Pixel ``(i, j)`` is sampled at ``u = (i + 1/2, j + 1/2)``; a triangle covers
    it when that point lies inside or on its projected outline.

    Args:
        uv: (K, F, 3, 2) continuous pixel coordinates (row, col) of the
            corners of F triangles in K views.
        depth: (K, F, 3) distance of the corners from the camera mapped into
            [Z_LO, Z_HI] (:func:`tap3d.rendering.zbuffer.normalize_depth`),
            smaller = nearer. It is interpolated linearly, which is exact for
            an orthographic camera.
        height, width: image size.
        max_fragments: candidate (triangle, pixel) pairs per chunk; bounds the
            peak memory (about 40 bytes per pair).

    Returns:
        (K, H, W) int64 index (in ``[0, F)``) of the visible triangle, -1 for
        background.
    """
    if uv.dim() != 4 or uv.shape[-2:] != (3, 2):
        raise ValueError(f'rasterize_triangles: uv must be (K, F, 3, 2), got {tuple(uv.shape)}')
    if depth.shape != uv.shape[:3]:
        raise ValueError(f'rasterize_triangles: depth must be (K, F, 3) = {tuple(uv.shape[:3])}, '
                         f'got {tuple(depth.shape)}')
    k, f = uv.shape[:2]
    if f >= 1 << ID_BITS:
        raise ValueError(f'rasterize_triangles: too many triangles ({f})')
    device = uv.device
    keys = new_buffer(k * height * width, device)
    uv = uv.float().reshape(k * f, 3, 2)
    depth = depth.float().reshape(k * f, 3)

    # pixel rows/cols whose centres fall inside the bounding box
    lo = torch.ceil(uv.amin(dim=1) - 0.5).clamp_min(0)
    hi = torch.minimum(torch.floor(uv.amax(dim=1) - 0.5),
                       torch.tensor([height - 1, width - 1], device=device, dtype=uv.dtype))
    extent = (hi - lo + 1).clamp_min(0).long()  # (KF, 2)
    a, b, c = uv.unbind(1)
    # edge-on triangles cover no pixel centre of their own; neighbours fill in
    degenerate = _cross(b - a, c - a).abs() < 1e-12
    tri = ((extent > 0).all(dim=1) & ~degenerate).nonzero().squeeze(1)
    if tri.numel() > 0:
        # sort the triangles by block size, so each group is a contiguous slice
        sizes = _group_sizes(extent[tri])
        group_key, order = torch.sort(sizes[:, 0] * 4096 + sizes[:, 1])
        tri = tri[order]
        extent, lo = extent[tri], lo[tri]
        planes = _plane_coefficients(uv[tri], depth[tri], lo + 0.5)  # (T, 4, 3)
        view = torch.div(tri, f, rounding_mode='floor')
        base = (view * height + lo[:, 0].long()) * width + lo[:, 1].long()
        face_id = tri - view * f
        unique, counts = torch.unique_consecutive(group_key, return_counts=True)
        start = 0
        for gk, n in zip(unique.tolist(), counts.tolist()):
            rows, cols = divmod(gk, 4096)
            part = slice(start, start + n)
            _rasterize_group(planes[part], base[part], face_id[part], extent[part], rows, cols,
                             width, keys, max_fragments)
            start += n
    return resolve_ids(keys).view(k, height, width)


def _rasterize_group(planes: torch.Tensor, base: torch.Tensor, face_id: torch.Tensor,
                     extent: torch.Tensor, rows: int, cols: int, width: int, keys: torch.Tensor,
                     max_fragments: int) -> None:
    """Test T triangles on a dense rows x cols block of pixel centres.

    Args:
        planes: (T, 4, 3) from :func:`_plane_coefficients`; base: (T,) flat
            index of each block's first pixel; face_id: (T,) triangle ids;
            extent: (T, 2) true box size (the block may be larger).
    """
    device = planes.device
    dr = torch.arange(rows, device=device).repeat_interleave(cols)
    dc = torch.arange(cols, device=device).repeat(rows)
    grid = torch.stack([dr.float(), dc.float(), torch.ones(rows * cols, device=device)])  # (3, S)
    offsets = dr * width + dc  # (S,)
    exact = rows <= _EXACT_SIDE and cols <= _EXACT_SIDE
    per_chunk = max(1, max_fragments // (rows * cols))
    for start in range(0, len(planes), per_chunk):
        part = slice(start, start + per_chunk)
        values = planes[part] @ grid  # (T, 4, S): lambda_a, lambda_b, lambda_c, depth
        inside = values[:, :3].amin(dim=1) >= -_INSIDE_EPS
        flat = base[part, None] + offsets
        if not exact:
            ext = extent[part]
            inside &= (dr < ext[:, :1]) & (dc < ext[:, 1:])
            # surplus block cells may leave the image; they carry a miss key
            flat = flat.clamp_(0, keys.numel() - 1)
        key = pack_keys(torch.where(inside, values[:, 3], MISS_DEPTH), face_id[part, None])
        keys.scatter_reduce_(0, flat.reshape(-1), key.reshape(-1), reduce='amin',
                             include_self=True)
