import math

import numpy as np
import pytest
import torch

from tap3d.geometry import (
    FLOOR_TOLERANCE,
    camera_points,
    compute_framing,
    fixed_view_rotations,
    optical_lines,
    pixel_indices,
    project_points,
    random_view_rotations,
)

IMG, OBJ = 224, 200
PAD = (IMG - OBJ) // 2


def _random_batch(b=3, v=4, n=500, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    # anisotropic clouds so the longer image axis changes with the view
    points = torch.randn(b, n, 3, generator=g) * torch.tensor([1.0, 0.4, 0.7])
    points = points + torch.randn(b, 1, 3, generator=g)
    rotations = random_view_rotations(b * v, generator=g).view(b, v, 3, 3)
    return points.to(dtype), rotations.to(dtype)


def _reference_pixels(points, rotations, img_size=IMG, obj_size=OBJ):
    """docs/tap.md §5 written out literally, per sample and view, in float64 numpy."""
    p = points.double().numpy()
    r = rotations.double().numpy()
    out = np.zeros(r.shape[:2] + (p.shape[1], 2), dtype=np.int64)
    for i in range(r.shape[0]):
        for j in range(r.shape[1]):
            q = (p[i] @ r[i, j].T)[:, :2]
            m = q.min(0)
            s = (q.max(0) - m).max() / (obj_size - 3)
            idx = np.floor((q - m) / s + FLOOR_TOLERANCE)
            c = np.floor((idx.max(0) + idx.min(0)) / 2)
            o = obj_size / 2 - c - 1
            out[i, j] = idx + o + (img_size - obj_size) / 2
    return out


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_pixels_match_the_literal_formula(dtype):
    points, rotations = _random_batch(dtype=dtype)
    s, b = compute_framing(points, rotations, IMG, OBJ)
    assert s.shape == (3, 4) and b.shape == (3, 4, 2)
    pix = pixel_indices(points, rotations, s, b)
    ref = torch.from_numpy(_reference_pixels(points, rotations))
    if dtype == torch.float64:
        assert torch.equal(pix, ref)
    else:
        # float32 may move a point lying within ~1e-5 of a cell border
        assert (pix - ref).abs().max() <= 1
        assert (pix != ref).any(-1).float().mean() < 1e-3


def test_object_fills_the_centred_box():
    points, rotations = _random_batch(b=4, v=6, n=300, seed=1)
    s, b = compute_framing(points, rotations, IMG, OBJ)
    pix = pixel_indices(points, rotations, s, b)  # (B, V, N, 2)
    lo, hi = pix.amin(dim=2), pix.amax(dim=2)
    assert lo.min() >= PAD and hi.max() < PAD + OBJ
    # centre cell rule: floor((min + max) / 2) lands on obj/2 - 1 (+ pad)
    centre = torch.div(lo + hi, 2, rounding_mode='floor')
    assert torch.all(centre == PAD + OBJ // 2 - 1)
    # the longer axis spans exactly obj_size - 3 cells, the other one no more
    span = hi - lo
    assert torch.all(span.amax(dim=-1) == OBJ - 3)
    assert torch.all(span.amin(dim=-1) <= OBJ - 3)


def test_affine_map_reconstructs_camera_coordinates():
    points, rotations = _random_batch(seed=2)
    s, b = compute_framing(points, rotations)
    u = project_points(points, rotations, s, b)
    q = s[..., None, None] * u + b[:, :, None]
    torch.testing.assert_close(q, camera_points(points, rotations)[..., :2], atol=1e-5, rtol=0)


def test_mask_ignores_padding():
    points, rotations = _random_batch(b=2, v=3, n=200, seed=3)
    padded = torch.cat([points, torch.full((2, 50, 3), 1e3)], dim=1)
    mask = torch.ones(2, 250, dtype=torch.bool)
    mask[:, 200:] = False
    s_ref, b_ref = compute_framing(points, rotations)
    s, b = compute_framing(padded, rotations, mask=mask)
    torch.testing.assert_close(s, s_ref)
    torch.testing.assert_close(b, b_ref)
    # without the mask the far-away padding would change the frame
    s_bad, _ = compute_framing(padded, rotations)
    assert not torch.allclose(s_bad, s_ref)


def test_degenerate_and_bad_inputs():
    rot = fixed_view_rotations(2)[None]
    # a single point: a finite frame and the point lands on the centre pixel
    # (up to the rounding of a frame that has no extent to measure)
    one = torch.tensor([[[0.3, -0.2, 0.5]]])
    s, b = compute_framing(one, rot)
    assert torch.isfinite(s).all() and torch.isfinite(b).all() and torch.all(s > 0)
    u = project_points(one, rot, s, b)
    torch.testing.assert_close(u, torch.full_like(u, PAD + OBJ // 2 - 1), atol=0.05, rtol=0)
    with pytest.raises(ValueError, match=r'points must be \(B, N, 3\)'):
        compute_framing(torch.zeros(5, 3), rot)
    with pytest.raises(ValueError, match='batch size'):
        compute_framing(torch.zeros(2, 5, 3), rot)
    with pytest.raises(ValueError, match='obj_size must be an even'):
        compute_framing(torch.zeros(1, 5, 3), rot, img_size=224, obj_size=199)
    with pytest.raises(ValueError, match='img_size - obj_size'):
        compute_framing(torch.zeros(1, 5, 3), rot, img_size=201, obj_size=200)
    with pytest.raises(ValueError, match='at least one valid point'):
        compute_framing(torch.zeros(1, 5, 3), rot, mask=torch.zeros(1, 5, dtype=torch.bool))


def _distance_to_lines(points, origins, direction):
    # points (N, 3), origins (N, 3), direction (3,): distance of each point to its line
    d = points - origins
    return (d - (d @ direction)[:, None] * direction).norm(dim=-1)


def test_points_of_a_cell_lie_near_its_optical_line():
    ds = 32
    grid = IMG // ds
    points, rotations = _random_batch(b=2, v=5, n=2000, seed=4)
    s, b = compute_framing(points, rotations)
    origins, direction = optical_lines(rotations, s, b, (grid, grid), ds)
    assert origins.shape == (2, 5, grid, grid, 3) and direction.shape == (2, 5, 3)
    torch.testing.assert_close(direction.norm(dim=-1), torch.ones(2, 5))
    cell = torch.div(pixel_indices(points, rotations, s, b), ds, rounding_mode='floor')
    assert cell.min() >= 0 and cell.max() < grid
    for i in range(2):
        for v in range(5):
            o = origins[i, v, cell[i, v, :, 0], cell[i, v, :, 1]]  # (N, 3)
            dist = _distance_to_lines(points[i], o, direction[i, v])
            limit = s[i, v] * ds * math.sqrt(2) / 2
            assert dist.max() <= limit * (1 + 1e-4)
            # and the bound is nearly reached: it is the tight one
            assert dist.max() > 0.8 * limit
    # the origin lies on the plane z_cam = 0 and maps back to the cell centre
    q = torch.einsum('bvhwc,bvdc->bvhwd', origins, rotations)
    torch.testing.assert_close(q[..., 2], torch.zeros_like(q[..., 2]), atol=1e-5, rtol=0)
    centre = (torch.arange(grid) + 0.5) * ds
    u = (q[..., :2] - b[:, :, None, None]) / s[..., None, None, None]
    torch.testing.assert_close(u[..., 0], centre[:, None].expand(grid, grid).expand_as(u[..., 0]),
                               atol=1e-3, rtol=0)


def test_direction_turns_with_azimuth_but_the_authors_column_does_not():
    rot = fixed_view_rotations()[None]  # (1, 12, 3, 3)
    points = torch.randn(1, 100, 3, generator=torch.Generator().manual_seed(5))
    s, b = compute_framing(points, rot)
    _, d = optical_lines(rot, s, b)
    _, d_authors = optical_lines(rot, s, b, authors_direction=True)
    torch.testing.assert_close(d[0], rot[0, :, 2, :])
    # the optical direction differs from view to view (12 distinct azimuths)
    azimuth = torch.atan2(d[0, :, 1], d[0, :, 0])
    steps = torch.remainder(azimuth.roll(-1) - azimuth, 2 * math.pi)
    torch.testing.assert_close(steps, torch.full((12,), 2 * math.pi / 12), atol=1e-5, rtol=0)
    # the third column is (-sqrt(3)/2, 0, 1/2) for every view
    expected = torch.tensor([-math.sqrt(3) / 2, 0.0, 0.5]).expand(12, 3)
    torch.testing.assert_close(d_authors[0], expected, atol=1e-6, rtol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_framing_on_cuda_matches_cpu():
    points, rotations = _random_batch(seed=6)
    s, b = compute_framing(points, rotations)
    s_gpu, b_gpu = compute_framing(points.cuda(), rotations.cuda())
    torch.testing.assert_close(s_gpu.cpu(), s)
    torch.testing.assert_close(b_gpu.cpu(), b)
    o, d = optical_lines(rotations.cuda(), s_gpu, b_gpu)
    assert o.device.type == 'cuda' and d.device.type == 'cuda'
