"""Triangle rasteriser in plain torch (CPU and CUDA).

Every triangle is tested at the pixel centres of its bounding box. Triangles
are sorted by the size of that box, so each size group is a dense
(box pixels x triangles) block: its barycentric coordinates and depth come
from ONE batched matrix product with a fixed pixel-offset grid, and
visibility is resolved by a single ``scatter_reduce(amin)`` of packed
(depth, id) keys (:mod:`tap3d.rendering.zbuffer`). Per-triangle data is kept
as contiguous rows (structure of arrays), which keeps every op a plain
streaming pass. No Python loop runs over triangles, and memory is bounded by
processing large groups in chunks.
"""
import torch

from .zbuffer import ID_BITS, MISS_DEPTH, new_buffer, pack_keys, resolve_ids

__all__ = ['rasterize_triangles']

# Barycentric slack so that pixel centres on a shared edge are never missed.
_INSIDE_EPS = 1e-5
# Boxes up to this many pixels per side are grouped by their exact size;
# larger ones by the next power of two, with the surplus masked out.
_EXACT_SIDE = 8
# Group keys: rows * _KEY_BASE + cols; 0 marks triangles that cover nothing.
_KEY_BASE = 1 << 15


def _block_side(extent: torch.Tensor) -> torch.Tensor:
    """Side of the dense block a box of ``extent`` pixels is tested in (float)."""
    pow2 = torch.exp2(torch.ceil(torch.log2(extent.clamp_min(1))))
    return torch.where(extent <= _EXACT_SIDE, extent, pow2)


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
    # rows: a_r, a_c, b_r, b_c, c_r, c_c, z_a, z_b, z_c; each (K * F,) contiguous
    soa = torch.cat([uv.float().permute(2, 3, 0, 1).reshape(6, k * f),
                     depth.float().permute(2, 0, 1).reshape(3, k * f)])
    pair = torch.arange(k * f, device=uv.device)
    view = torch.div(pair, max(f, 1), rounding_mode='floor')
    return rasterize_soa(soa, view, pair - view * f, k, height, width, max_fragments)


def rasterize_soa(soa: torch.Tensor, view: torch.Tensor, face_id: torch.Tensor, num_views: int,
                  height: int, width: int, max_fragments: int = 1 << 21) -> torch.Tensor:
    """:func:`rasterize_triangles` on corner data laid out as rows.

    Args:
        soa: (9, T) float32 rows ``a_r, a_c, b_r, b_c, c_r, c_c, z_a, z_b, z_c``
            for T (view, triangle) pairs (e.g. only the front faces).
        view: (T,) int64 view of each column, in ``[0, num_views)``.
        face_id: (T,) int64 triangle id of each column, the value returned.
        num_views, height, width, max_fragments: as in :func:`rasterize_triangles`.

    Returns:
        (num_views, H, W) int64 triangle id, -1 for background.
    """
    device = soa.device
    keys = new_buffer(num_views * height * width, device)
    if soa.shape[1] == 0:
        return resolve_ids(keys).view(num_views, height, width)
    if int(face_id.max()) >= 1 << ID_BITS:
        raise ValueError(f'rasterize_triangles: triangle ids must be < 2**{ID_BITS}')
    if max(height, width) > _KEY_BASE // 2:
        raise ValueError(f'rasterize_triangles: images larger than {_KEY_BASE // 2} pixels a side '
                         'are not supported')
    ar, ac, br, bc, cr, cc, za, zb, zc = soa.unbind(0)

    # pixel rows/cols whose centres fall inside the bounding box
    lo_r = torch.ceil(torch.minimum(torch.minimum(ar, br), cr) - 0.5).clamp_min_(0)
    lo_c = torch.ceil(torch.minimum(torch.minimum(ac, bc), cc) - 0.5).clamp_min_(0)
    hi_r = torch.floor(torch.maximum(torch.maximum(ar, br), cr) - 0.5).clamp_max_(height - 1)
    hi_c = torch.floor(torch.maximum(torch.maximum(ac, bc), cc) - 0.5).clamp_max_(width - 1)
    ext_r = (hi_r - lo_r + 1).clamp_min_(0)
    ext_c = (hi_c - lo_c + 1).clamp_min_(0)
    area2 = (br - ar) * (cc - ac) - (bc - ac) * (cr - ar)
    # edge-on triangles cover no pixel centre of their own; neighbours fill in
    covers = (ext_r > 0) & (ext_c > 0) & (area2.abs() >= 1e-12)
    # int32 keys sort about twice as fast as int64 on CPU
    group = _block_side(ext_r).int() * _KEY_BASE + _block_side(ext_c).int()
    group = torch.where(covers, group, 0)

    # Barycentric planes lambda(p) = A * dr + B * dc + C over the pixel offset
    # (dr, dc) from the box's first pixel centre p0; relative offsets avoid
    # cancelling large absolute coordinates in float32.
    inv = 1.0 / torch.where(covers, area2, torch.ones_like(area2))
    p0r, p0c = lo_r + 0.5, lo_c + 0.5

    def plane(er, ec, base_r, base_c):
        return -ec * inv, er * inv, (er * (p0c - base_c) - ec * (p0r - base_r)) * inv

    a_a, b_a, c_a = plane(cr - br, cc - bc, br, bc)  # lambda_a
    a_b, b_b, c_b = plane(ar - cr, ac - cc, cr, cc)  # lambda_b
    a_c, b_c, c_c = -a_a - a_b, -b_a - b_b, 1 - c_a - c_b  # lambda_c = 1 - lambda_a - lambda_b
    # z = z_c + (z_a - z_c) lambda_a + (z_b - z_c) lambda_b
    dza, dzb = za - zc, zb - zc
    a_z = dza * a_a + dzb * a_b
    b_z = dza * b_a + dzb * b_b
    c_z = zc + dza * c_a + dzb * c_b
    planes = torch.stack([a_a, b_a, c_a, a_b, b_b, c_b, a_c, b_c, c_c, a_z, b_z, c_z,
                          ext_r, ext_c])  # (14, KF)
    ints = torch.stack([(view * height + lo_r.long()) * width + lo_c.long(), face_id])

    # sort by block size so every group is a contiguous slice
    group, order = torch.sort(group)
    planes = planes.index_select(1, order)
    ints = ints.index_select(1, order)
    sizes, counts = torch.unique_consecutive(group, return_counts=True)
    start = 0
    for size, n in zip(sizes.tolist(), counts.tolist()):
        if size > 0:
            rows, cols = divmod(size, _KEY_BASE)
            part = slice(start, start + n)
            _rasterize_group(planes[:, part], ints[:, part], rows, cols, width, keys,
                             max_fragments)
        start += n
    return resolve_ids(keys).view(num_views, height, width)


def _rasterize_group(planes: torch.Tensor, ints: torch.Tensor, rows: int, cols: int, width: int,
                     keys: torch.Tensor, max_fragments: int) -> None:
    """Test T triangles on a dense rows x cols block of pixel centres each.

    Args:
        planes: (14, T) the 4 planes' (A, B, C) then the box extent (rows, cols).
        ints: (2, T) flat index of each box's first pixel, triangle id.
        keys: the flat z-buffer, updated in place.
    """
    device = planes.device
    dr = torch.arange(rows, device=device).repeat_interleave(cols)
    dc = torch.arange(cols, device=device).repeat(rows)
    grid = torch.stack([dr.float(), dc.float(), torch.ones(rows * cols, device=device)], dim=1)
    offsets = (dr * width + dc)[:, None]  # (S, 1)
    exact = rows <= _EXACT_SIDE and cols <= _EXACT_SIDE
    per_chunk = max(1, max_fragments // (rows * cols))
    for start in range(0, planes.shape[1], per_chunk):
        p = planes[:, start:start + per_chunk]
        values = torch.matmul(grid, p[:12].reshape(4, 3, -1))  # (4, S, T)
        inside = torch.minimum(torch.minimum(values[0], values[1]), values[2]) >= -_INSIDE_EPS
        flat = offsets + ints[0, start:start + per_chunk]  # (S, T)
        if not exact:
            inside &= (dr[:, None] < p[12]) & (dc[:, None] < p[13])
            # surplus block cells may leave the image; they carry a miss key
            flat.clamp_(0, keys.numel() - 1)
        depth = torch.where(inside, values[3], MISS_DEPTH)
        key = pack_keys(depth, ints[1, start:start + per_chunk])
        keys.scatter_reduce_(0, flat.view(-1), key.view(-1), reduce='amin', include_self=True)
