import numpy as np
import pytest
import torch

from tap3d.geometry import compute_framing, fixed_view_rotations, pixel_indices
from tap3d.rendering import render_points


def _cloud(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, generator=g) * 2 - 1


def test_points_land_on_their_framed_pixels_on_white():
    pts = _cloud()
    colors = torch.full((len(pts), 3), 30, dtype=torch.uint8)
    rot = fixed_view_rotations(2)
    img = render_points(pts, colors, rot, point_radius_px=0)
    assert img.shape == (2, 224, 224, 3) and img.dtype == torch.uint8
    fg = (img < 255).any(-1)
    s, b = compute_framing(pts[None], rot[None])
    pix = pixel_indices(pts[None], rot[None], s, b)[0]
    expected = torch.zeros_like(fg)
    for v in range(2):
        expected[v, pix[v, :, 0], pix[v, :, 1]] = True
    assert torch.equal(fg, expected)
    assert torch.all(img[fg] == 30) and torch.all(img[~fg] == 255)


def test_radius_covers_a_square_and_nearest_point_wins():
    # identity pose looks along -z: the point with larger z is nearer
    pts = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [-1.0, -1.0, 0.0]])
    colors = torch.tensor([[255, 0, 0], [0, 0, 255], [0, 255, 0], [0, 255, 0]], dtype=torch.uint8)
    for order in (torch.arange(4), torch.tensor([1, 0, 3, 2])):
        img = render_points(pts[order], colors[order], torch.eye(3)[None], point_radius_px=2)[0]
        fg = (img < 255).any(-1)
        # 3 separate 5 x 5 splats (the first two share a pixel)
        assert fg.sum() == 3 * 25
        s, b = compute_framing(pts[None], torch.eye(3)[None, None])
        r, c = pixel_indices(pts[:1][None], torch.eye(3)[None, None], s, b)[0, 0, 0].tolist()
        # the near red point hides the blue one; colour 255 is capped at 254
        assert img[r, c].tolist() == [254, 0, 0]
        red = torch.tensor([254, 0, 0], dtype=torch.uint8)
        assert torch.all(img[r - 2:r + 3, c - 2:c + 3] == red)


def test_float_colors_normals_and_framing_points():
    pts = _cloud(200, seed=1)
    rot = fixed_view_rotations(1)
    plain = render_points(pts, torch.full((200, 3), 0.5), rot)
    assert set(plain[(plain < 255).any(-1)].unique().tolist()) == {128}
    normals = torch.nn.functional.normalize(_cloud(200, seed=2), dim=-1)
    shaded = render_points(pts, torch.full((200, 3), 0.5), rot, normals=normals)
    assert len(shaded[(shaded < 255).any(-1)].unique()) > 10  # brightness varies with the normal
    # a larger framing set shrinks the object in the image
    big = render_points(pts, torch.full((200, 3), 0.5), rot, framing_points=pts * 3)
    def span(img):
        rows = (img[0] < 255).any(-1).any(-1).nonzero()
        return int(rows.max() - rows.min())

    assert abs(span(big) - span(plain) / 3) <= 3


def test_bad_colors_raise():
    pts = _cloud(5)
    rot = fixed_view_rotations(1)
    with pytest.raises(ValueError, match=r'float colors must lie in \[0, 1\]'):
        render_points(pts, torch.full((5, 3), 200.0), rot)
    with pytest.raises(ValueError, match=r'colors must be \(5, 3\)'):
        render_points(pts, np.zeros((4, 3), np.uint8), rot)
    with pytest.raises(ValueError, match='point_radius_px'):
        render_points(pts, np.zeros((5, 3), np.uint8), rot, point_radius_px=-1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_points_match_cpu():
    pts = _cloud(1000, seed=3)
    colors = (torch.rand(1000, 3) * 255).to(torch.uint8)
    rot = fixed_view_rotations(3)
    cpu = render_points(pts, colors, rot)
    gpu = render_points(pts.cuda(), colors.cuda(), rot.cuda())
    assert gpu.device.type == 'cuda'
    assert (gpu.cpu() != cpu).any(-1).float().mean() < 1e-3
