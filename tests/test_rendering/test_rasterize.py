import torch

from tap3d.rendering import rasterize_triangles
from tap3d.rendering.zbuffer import Z_HI, Z_LO


def _brute_force(uv, depth, height, width):
    """Nearest covering triangle per pixel centre, by testing every pair."""
    k, f = uv.shape[:2]
    centres = torch.stack(torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5,
                                         indexing='ij'), dim=-1).view(-1, 1, 2).double()
    out = torch.full((k, height * width), -1, dtype=torch.long)
    for v in range(k):
        a, b, c = uv[v].double().unbind(1)  # (F, 2) each

        def cross(p, q):
            return p[..., 0] * q[..., 1] - p[..., 1] * q[..., 0]

        area = cross(b - a, c - a)
        la = cross(c - b, centres - b) / area
        lb = cross(a - c, centres - c) / area
        lc = 1 - la - lb
        inside = (la >= 0) & (lb >= 0) & (lc >= 0) & (area.abs() > 1e-12)
        z = la * depth[v, :, 0] + lb * depth[v, :, 1] + lc * depth[v, :, 2]
        z = torch.where(inside, z, torch.full_like(z, float('inf')))
        best, arg = z.min(dim=1)
        out[v] = torch.where(torch.isfinite(best), arg, torch.full_like(arg, -1))
    return out.view(k, height, width)


def test_matches_brute_force_on_random_triangles():
    g = torch.Generator().manual_seed(0)
    k, f, h, w = 2, 60, 40, 48
    centre = torch.rand(k, f, 1, 2, generator=g) * torch.tensor([h, w])
    # sizes from sub-pixel to larger than the image, so every block path runs
    size = torch.exp(torch.rand(k, f, 1, 1, generator=g) * 4 - 1)
    uv = centre + (torch.rand(k, f, 3, 2, generator=g) - 0.5) * size * 2
    depth = Z_LO + (Z_HI - Z_LO) * torch.rand(k, f, 3, generator=g)
    ids = rasterize_triangles(uv, depth, h, w)
    ref = _brute_force(uv, depth, h, w)
    assert ids.shape == (k, h, w)
    agree = (ids == ref).float().mean()
    assert agree > 0.998, agree
    assert (ref >= 0).float().mean() > 0.3  # the scene is not empty
    # chunking does not change the result
    assert torch.equal(rasterize_triangles(uv, depth, h, w, max_fragments=50), ids)


def test_pixel_centre_rule_and_empty_input():
    # a right triangle over pixel corners (0,0), (4,0), (0,4): centres with
    # r + c <= 4 (r, c = i + 0.5, j + 0.5) are inside
    uv = torch.tensor([[[[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]]]])
    ids = rasterize_triangles(uv, torch.full((1, 1, 3), 0.5), 6, 6)[0]
    i, j = torch.meshgrid(torch.arange(6), torch.arange(6), indexing='ij')
    assert torch.equal(ids == 0, (i + j + 1) <= 4)
    empty = rasterize_triangles(torch.zeros(3, 0, 3, 2), torch.zeros(3, 0, 3), 5, 7)
    assert empty.shape == (3, 5, 7) and torch.all(empty == -1)


def test_keys_keep_ids_intact_slightly_below_the_depth_range():
    from tap3d.rendering.zbuffer import ID_BITS, pack_keys, resolve_ids
    # edge extrapolation can push depth a hair below Z_LO; ids must survive
    depth = torch.tensor([Z_LO - 1e-4, Z_LO, 0.5, Z_HI + 1e-4])
    ids = torch.tensor([(1 << ID_BITS) - 1, 12345, 0, 7])
    assert torch.equal(resolve_ids(pack_keys(depth, ids)), ids)
    # nearer (smaller) depth always gives the smaller key, whatever the ids
    keys = pack_keys(depth, ids)
    assert torch.all(keys[1:] > keys[:-1])
