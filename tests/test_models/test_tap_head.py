"""Tests for the TAP head: query geometry, memory, attention layout, ablation modes."""
import math

import pytest
import torch

from tap3d.geometry import fixed_view_rotations, pixel_indices, random_view_rotations
from tap3d.models.heads import TAPHead, ViewGenerator
from tap3d.registry import MODELS

SMALL = dict(embed_dims=32, depth=2, num_heads=4, head_dims=8, img_size=64, obj_size=56,
             downsample=8, drop_rate=0.0, drop_path_rate=0.0)


def _shapes(B, N, seed=0):
    g = torch.Generator().manual_seed(seed)
    pts = torch.randn(B, N, 3, generator=g) * torch.tensor([1.0, 0.5, 0.3])
    return pts / pts.norm(dim=-1).amax(dim=1, keepdim=True)[..., None]


def _rotations(B, seed=0):
    """The 12 fixed views plus 4 random ones per sample: (B, 16, 3, 3)."""
    fixed = fixed_view_rotations(12).expand(B, 12, 3, 3)
    rand = torch.stack([
        random_view_rotations(4, generator=torch.Generator().manual_seed(seed + i))
        for i in range(B)
    ])
    return torch.cat([fixed, rand], dim=1)


@pytest.mark.parametrize('downsample,img,obj', [(32, 224, 200), (8, 64, 56)])
def test_points_lie_on_their_cells_optical_line(downsample, img, obj):
    B, N = 3, 400
    pts = _shapes(B, N, seed=downsample)
    R = _rotations(B)
    head = TAPHead(16, embed_dims=16, depth=1, num_heads=2, head_dims=8, img_size=img,
                   obj_size=obj, downsample=downsample)
    q = head.query_state(pts, R)
    H, W = head.grid_hw
    V = R.shape[1]
    assert q['origin'].shape == (B, V, H, W, 3) and q['state'].shape == (B, V, H, W, 8)
    cell = torch.div(pixel_indices(pts, R, q['s'], q['b']), downsample, rounding_mode='floor')
    assert cell.min() >= 0 and cell[..., 0].max() < H and cell[..., 1].max() < W
    bi = torch.arange(B)[:, None, None]
    vi = torch.arange(V)[None, :, None]
    origin = q['origin'][bi, vi, cell[..., 0], cell[..., 1]]  # (B, V, N, 3)
    direction = q['direction'][:, :, :1, 0]  # (B, V, 1, 3): same for every cell
    rel = pts[:, None] - origin
    dist = (rel - (rel * direction).sum(-1, keepdim=True) * direction).norm(dim=-1)
    half_diag = q['s'][..., None] * downsample * math.sqrt(2) / 2
    assert (dist <= half_diag * (1 + 1e-4)).all()
    # and the bound is not loose: some points come close to it
    assert (dist / half_diag).max() > 0.5


def test_direction_turns_with_azimuth():
    R = fixed_view_rotations(12)[None]
    pts = _shapes(1, 200)
    head = TAPHead(16, embed_dims=16, depth=1, num_heads=2, head_dims=8)
    d = head.query_state(pts, R)['direction'][0, :, 0, 0]  # (12, 3)
    assert torch.allclose(d.norm(dim=-1), torch.ones(12), atol=1e-5)
    assert torch.allclose(d, R[0, :, 2, :], atol=1e-6)  # the optical axis R^T e_z
    cos = d @ d.T
    off_diag = cos[~torch.eye(12, dtype=torch.bool)]
    assert off_diag.max() < 1 - 1e-3  # every view has its own direction
    # the azimuth of the direction's ground-plane part advances 30 degrees per view
    az = torch.atan2(d[:, 1], d[:, 0])
    step = torch.remainder(az.roll(-1) - az, 2 * math.pi)
    assert torch.allclose(step, torch.full_like(step, 2 * math.pi / 12), atol=1e-4) or \
        torch.allclose(step, torch.full_like(step, 2 * math.pi - 2 * math.pi / 12), atol=1e-4)
    # the authors' variant (third column of R) is the same vector for all 12 views
    authors = TAPHead(16, embed_dims=16, depth=1, num_heads=2, head_dims=8,
                      authors_direction=True)
    da = authors.query_state(pts, R)['direction'][0, :, 0, 0]
    assert torch.allclose(da, da[:1].expand(12, 3), atol=1e-6)


def test_pad_token_is_appended_to_memory():
    head = TAPHead(8, **SMALL)
    coords, feats = torch.randn(2, 5, 3), torch.randn(2, 5, 8)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1, 3:] = False
    memory, mmask = head.build_memory(coords, feats, mask)
    assert memory.shape == (2, 6, 32) and mmask.shape == (2, 6)
    assert torch.equal(memory[:, -1], head.pad_token.expand(2, 32))
    assert mmask[:, -1].all() and not mmask[1, 3:5].any()
    no_pad = TAPHead(8, **SMALL, use_pad_token=False)
    assert not hasattr(no_pad, 'pad_token')
    assert no_pad.build_memory(coords, feats, mask)[0].shape == (2, 5, 32)


def _forward_inputs(B=2, V=3, M=16, C=24, N=128):
    pts = _shapes(B, N, seed=1)
    R = fixed_view_rotations(12)[:V].expand(B, V, 3, 3)
    out = dict(coords=pts[:, :M], feats=torch.randn(B, M, C))
    return out, pts, R


@pytest.mark.parametrize('cfg', [
    dict(),
    dict(photograph='projection'),
    dict(photograph='projection_attention'),
    dict(query_type='learnable'),
    dict(query_components=('direction', 'pe')),
    dict(query_components=('origin', )),
    dict(use_pad_token=False),
    dict(authors_direction=True),
    dict(num_heads=2, head_dims=16),
])
def test_forward_all_switches(cfg):
    head = MODELS.build(dict(type='TAPHead', in_channels=24, **dict(SMALL, **cfg)))
    out, pts, R = _forward_inputs()
    views = head(out, pts, R)
    assert views.shape == (2, 3, 3, 64, 64)
    assert views.min() >= 0 and views.max() <= 1
    views.mean().backward()
    grads = [p.grad for p in head.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_views_share_memory_exactly():
    """Joint processing of V views equals processing each view on its own."""
    torch.manual_seed(0)
    head = TAPHead(24, **SMALL).eval()
    out, pts, R = _forward_inputs(V=3)
    with torch.no_grad():
        joint = head(out, pts, R)
        single = torch.cat([head(out, pts, R[:, v:v + 1]) for v in range(3)], dim=1)
    assert torch.allclose(joint, single, atol=1e-5)


def test_padding_mask_and_offset_form():
    torch.manual_seed(0)
    head = TAPHead(24, **SMALL).eval()
    out, pts, R = _forward_inputs(B=2, M=16)
    lengths = [16, 10]
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[0, :16], mask[1, :10] = True, True
    padded = dict(coords=out['coords'].clone(), feats=out['feats'].clone(), mask=mask)
    garbage = dict(padded, feats=padded['feats'].clone())
    garbage['feats'][1, 10:] = 1e3  # padded rows must not matter
    offset = torch.tensor([16, 26])
    flat = dict(coords=torch.cat([out['coords'][0], out['coords'][1, :10]]),
                feats=torch.cat([out['feats'][0], out['feats'][1, :10]]), offset=offset)
    with torch.no_grad():
        a = head(padded, pts, R)
        b = head(garbage, pts, R)
        c = head(flat, pts, R)
        # the point set may be given in offset form too
        d = head(flat, pts.reshape(-1, 3), R, point_offset=torch.tensor([128, 256]))
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(a, c, atol=1e-5)
    assert torch.allclose(a, d, atol=1e-5)
    assert lengths == [16, 10]


def test_projection_scatter_mean_and_empty_cells():
    head = TAPHead(4, **dict(SMALL, photograph='projection'))
    B, V, M, C = 1, 1, 3, 32
    tokens = torch.arange(M * C, dtype=torch.float32).view(B, M, C)
    cell = torch.tensor([[[5, 5, 9]]])
    mask = torch.tensor([[True, True, True]])
    grid = head.project_memory(tokens, mask, cell)
    assert grid.shape == (B, V, 64, C)
    assert torch.allclose(grid[0, 0, 5], tokens[0, :2].mean(0))
    assert torch.allclose(grid[0, 0, 9], tokens[0, 2])
    assert torch.allclose(grid[0, 0, 0], head.pad_token)
    # masked tokens are ignored
    grid = head.project_memory(tokens, torch.tensor([[True, False, True]]), cell)
    assert torch.allclose(grid[0, 0, 5], tokens[0, 0])
    # cell_index agrees with the shared projection
    pts = _shapes(1, 50)
    R = fixed_view_rotations(12)[None, :2]
    s, b = head.framing(pts, R)
    expect = torch.div(pixel_indices(pts, R, s, b), 8, rounding_mode='floor')
    got = head.cell_index(pts, R, s, b)
    assert torch.equal(got, expect[..., 0] * 8 + expect[..., 1])


def test_generator_paper_and_small_sizes():
    g = ViewGenerator(256, 3, downsample=32)
    assert g.strides == (4, 2, 2, 2)
    assert sum(p.numel() for p in g.parameters()) == 912_451  # the authors' decoder
    assert g(torch.randn(1, 256, 7, 7)).shape == (1, 3, 224, 224)
    small = ViewGenerator(32, 3, downsample=8)
    assert small(torch.randn(2, 32, 8, 8)).shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match='multiply'):
        ViewGenerator(32, 3, downsample=8, strides=(2, 2, 2, 2))


def test_authors_width_matches_their_photograph_module():
    """With 32 x 32 heads the module has the authors' 18,649,172 parameters."""
    head = TAPHead(1024, num_heads=32, head_dims=32)
    n = sum(p.numel() for p in head.parameters()) - 912_451
    assert n == 18_649_172
    paper = TAPHead(1024)  # 8 x 32 heads
    assert sum(p.numel() for p in paper.parameters()) < n


def test_bad_inputs_raise_clear_errors():
    head = TAPHead(24, **SMALL)
    out, pts, R = _forward_inputs()
    with pytest.raises(KeyError, match='coords'):
        head(dict(feats=out['feats']), pts, R)
    with pytest.raises(ValueError, match='rotations'):
        head(out, pts, R[:, :, :2])
    with pytest.raises(ValueError, match='photograph'):
        TAPHead(24, photograph='nope')
    with pytest.raises(ValueError, match='query_components'):
        TAPHead(24, query_components=('origin', 'colour'))


def test_ffn_out_drop_switch_removes_only_the_last_dropout():
    from tap3d.models.utils import GEGLUFFN
    x = torch.randn(4, 7, 16)
    authors = GEGLUFFN(16, 2, drop=1.0, out_drop=False).train()
    ours = GEGLUFFN(16, 2, drop=1.0, out_drop=True).train()
    ours.load_state_dict(authors.state_dict())  # the same keys either way
    # dropout 1 zeroes the hidden layer: without the last dropout only the last
    # linear's bias remains; with it everything is dropped
    torch.testing.assert_close(authors(x), authors.net[-1].bias.expand(4, 7, 16))
    assert torch.count_nonzero(ours(x)) == 0


@pytest.mark.parametrize('photograph', ['attention', 'projection_attention'])
def test_regularisation_switches_reach_every_block(photograph):
    head = TAPHead(16, **{**SMALL, 'drop_rate': 0.1, 'drop_path_rate': 0.0},
                   ffn_out_drop=False, photograph=photograph)
    default = TAPHead(16, **{**SMALL, 'drop_rate': 0.1, 'drop_path_rate': 0.1},
                      photograph=photograph)
    assert head.state_dict().keys() == default.state_dict().keys()
    for blk, ref in zip(head.blocks, default.blocks):
        assert isinstance(blk.ffn.net[-1], torch.nn.Linear) and blk.drop_path.drop_prob == 0
        assert isinstance(ref.ffn.net[-1], torch.nn.Dropout) and ref.drop_path.drop_prob == 0.1


def test_tap_recipes_use_the_authors_regularisation():
    import glob
    import os.path as osp

    from mmengine.config import Config
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    recipes = sorted(glob.glob(osp.join(repo, 'configs', 'tap', 'tap_*.py')))
    recipes.append(osp.join(repo, 'configs', 'tap', 'ablations', 'baseline.py'))
    assert len(recipes) >= 7
    for path in recipes:
        head = Config.fromfile(path).model.head
        assert head.get('drop_path_rate') == 0.0 and head.get('ffn_out_drop') is False, path
    switch = Config.fromfile(osp.join(repo, 'configs', 'tap', 'ablations', 'drop-path-0.1.py'))
    assert switch.model.head.drop_path_rate == 0.1 and switch.model.head.ffn_out_drop is True
