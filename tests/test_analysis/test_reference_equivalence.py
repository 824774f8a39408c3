"""Each optimised op/module computes what its reference variant computes.

The reference variants (the authors' compute patterns) exist for speed
comparisons; these tests pin down that the fast paths give the same numbers on
random inputs, forward and backward, at tiny sizes.
"""
import pytest
import torch

from tap3d.geometry import fixed_view_rotations
from tap3d.models.backbones import PointMLP
from tap3d.models.heads import TAPHead
from tap3d.models.utils import Attention
from tap3d.ops import furthest_point_sample, knn, naive_furthest_point_sample
from tap3d.registry import MODELS
from tools.analysis.reference_models import PointMLPReference, TAPHeadReference
from tools.analysis.reference_models.pointmlp import knn_point
from tools.analysis.reference_models.tap_head import unfused_attention

TINY_MLP = dict(in_channels=4, embed_dim=8, pre_blocks=(1, 2), pos_blocks=(2, 1),
                dim_expansion=(2, 2), k_neighbors=(6, 5), reducers=(2, 2))


def _cloud(B, N, seed=0):
    g = torch.Generator().manual_seed(seed)
    pts = torch.rand(B, N, 3, generator=g) * 2 - 1
    feats = torch.cat([pts, torch.rand(B, N, 1, generator=g)], -1)
    return pts, feats


def _randomise(module, seed=0):
    """Non-trivial BN statistics/affines and grouper affines, so nothing is an identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in sorted(module.state_dict().items()):
            if t.dtype.is_floating_point and ('running_var' in name or 'affine_alpha' in name):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif t.dtype.is_floating_point and ('running_mean' in name or 'affine_beta' in name
                                                or name.endswith('bias')):
                t.copy_(0.2 * torch.randn(t.shape, generator=g))


def _close(a, b, tol=1e-4):
    """Max abs diff within ``tol`` of the larger tensor's scale (float32 rounding)."""
    a, b = a.reshape(b.shape), b
    return (a - b).abs().max().item() <= tol * max(1.0, b.abs().max().item())


def _copy_grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def test_fps_matches_reference_loop():
    pts, _ = _cloud(3, 200, seed=1)
    assert torch.equal(furthest_point_sample(pts, 37), naive_furthest_point_sample(pts, 37))


def test_knn_matches_reference_square_distance_topk():
    pts, _ = _cloud(2, 150, seed=2)
    query = pts[:, :40]
    d_fast, i_fast = knn(query, pts, 7)
    i_ref = knn_point(7, pts, query)
    # same neighbour sets (as sorted distance lists)
    d_ref = ((torch.stack([pts[b][i_ref[b]] for b in range(2)]) - query[:, :, None])**2).sum(-1)
    assert torch.allclose(d_fast, d_ref.sort(-1).values, atol=1e-6)
    assert torch.equal(i_fast.sort(-1).values, i_ref.sort(-1).values)


def test_pointmlp_reference_has_same_parameters_and_keys():
    fast, ref = PointMLP(in_channels=4), PointMLPReference(in_channels=4)
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(fast) == n(ref) == 12_570_624
    assert list(fast.state_dict()) == list(ref.state_dict())


@pytest.mark.parametrize('train,extra', [
    (False, dict()), (True, dict()), (True, dict(fuse_grouping=False)),
    (True, dict(normalize='center')), (False, dict(use_xyz=True))])
def test_pointmlp_matches_straight_port(train, extra):
    # Fixed weights: with unlucky ones, a near-tie in the max over a group can
    # round differently in the two models and route one gradient elsewhere.
    torch.manual_seed(0)
    ref = PointMLPReference(**TINY_MLP, **{k: v for k, v in extra.items()
                                           if k != 'fuse_grouping'})
    _randomise(ref)
    fast = PointMLP(**TINY_MLP, **extra)
    # conv-shaped (out, in, 1) weights load into the Linear layers
    fast.load_state_dict(ref.state_dict())
    ref.train(train)
    fast.train(train)
    pts, feats = _cloud(3, 64, seed=3)
    f1, f2 = feats.clone().requires_grad_(), feats.clone().requires_grad_()
    out_ref = ref(dict(coord=pts, feat=f1))
    out_fast = fast(dict(coord=pts, feat=f2))
    assert torch.equal(out_ref['coords'], out_fast['coords'])
    assert out_fast['feats'].shape == out_ref['feats'].shape == (3, 16, 32)
    assert torch.allclose(out_fast['feats'], out_ref['feats'], atol=1e-4, rtol=1e-4)
    w = torch.randn_like(out_ref['feats'])
    (out_ref['feats'] * w).sum().backward()
    (out_fast['feats'] * w).sum().backward()
    assert _close(f1.grad, f2.grad)
    g_ref, g_fast = _copy_grads(ref), _copy_grads(fast)
    assert set(g_ref) == set(g_fast)
    for name, g in g_ref.items():
        assert _close(g, g_fast[name]), name
    if train:  # running statistics were updated identically
        for (name, a), b in zip(ref.state_dict().items(), fast.state_dict().values()):
            if 'running' in name:
                assert torch.allclose(a, b, atol=1e-5), name


@pytest.mark.parametrize('with_mask', [False, True])
def test_unfused_attention_matches_sdpa(with_mask):
    torch.manual_seed(0)
    attn = Attention(16, num_heads=4, head_dim=8, context_dim=12)
    x, ctx = torch.randn(3, 10, 16), torch.randn(3, 7, 12)
    mask = None
    if with_mask:
        mask = torch.ones(3, 7, dtype=torch.bool)
        mask[1, 4:] = False
        mask[2, 1:] = False
    assert torch.allclose(attn(x, ctx, mask), unfused_attention(attn, x, ctx, mask),
                          atol=1e-5)
    # a masked key changes nothing, whatever its value
    if with_mask:
        ctx2 = ctx.clone()
        ctx2[1, 5] += 100.0
        assert torch.allclose(unfused_attention(attn, x, ctx, mask),
                              unfused_attention(attn, x, ctx2, mask), atol=1e-5)


def test_tap_head_reference_parameter_count():
    ref = TAPHeadReference(1024)
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(ref) - n(ref.generator) == 18_649_172
    assert n(ref.generator) == 912_451
    assert MODELS.get('TAPHeadReference') is TAPHeadReference


@pytest.mark.parametrize('authors_direction', [True, False])
def test_tap_head_matches_reference(authors_direction):
    small = dict(embed_dims=32, depth=2, num_heads=4, head_dims=8, img_size=64, obj_size=56,
                 downsample=8, drop_rate=0.0, drop_path_rate=0.0,
                 authors_direction=authors_direction)
    torch.manual_seed(0)
    ref = TAPHeadReference(24, **small).eval()
    fast = TAPHead(24, **small).eval()
    fast.load_state_dict(ref.state_dict())
    B, M, V = 2, 9, 3
    pts, _ = _cloud(B, 50, seed=5)
    coords = pts[:, :M]
    feats = torch.randn(B, M, 24)
    mask = torch.ones(B, M, dtype=torch.bool)
    mask[1, 6:] = False
    rot = fixed_view_rotations(12)[[0, 4, 7]].expand(B, V, 3, 3)
    f1, f2 = feats.clone().requires_grad_(), feats.clone().requires_grad_()
    out_ref = ref(dict(coords=coords, feats=f1, mask=mask), pts, rot)
    out_fast = fast(dict(coords=coords, feats=f2, mask=mask), pts, rot)
    assert out_ref.shape == out_fast.shape == (B, V, 3, 64, 64)
    assert torch.allclose(out_ref, out_fast, atol=1e-5)
    w = torch.randn_like(out_ref)
    (out_ref * w).sum().backward()
    (out_fast * w).sum().backward()
    assert torch.allclose(f1.grad, f2.grad, atol=1e-4)
    g_ref, g_fast = _copy_grads(ref), _copy_grads(fast)
    for name, g in g_ref.items():
        assert torch.allclose(g, g_fast[name], atol=1e-4, rtol=1e-3), name


def test_reference_head_rejects_other_photograph_modes():
    with pytest.raises(ValueError, match='photograph'):
        TAPHeadReference(16, photograph='projection')


@pytest.mark.parametrize('gathered', [False, True])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_group_std_matches_the_centred_groups(dtype, gathered, monkeypatch):
    """The per-point-sums std equals torch.std of the built groups, value and gradient;

    so does the gathered form that runs on GPUs.
    """
    from tap3d.models.backbones import pointmlp
    from tap3d.models.backbones.pointmlp import _group_std
    from tap3d.ops import group_points
    monkeypatch.setattr(pointmlp, '_gathered_std_on', lambda x: gathered)
    g = torch.Generator().manual_seed(3)
    B, N, S, k, C = 3, 40, 20, 6, 5
    # large offset, small spread: the case where E[x^2] - E[x]^2 would lose digits
    base = (10 + torch.rand(B, N, C, generator=g, dtype=dtype)).requires_grad_()
    nn_idx = torch.randint(0, N, (B, S, k), generator=g)
    centres = torch.randint(0, N, (B, S), generator=g)
    weights = torch.rand(B, generator=g, dtype=dtype)

    def run(fn):
        anchor = base.gather(1, centres[..., None].expand(-1, -1, C))
        std = fn(base, anchor, nn_idx)
        (std * weights).sum().backward()
        grad, base.grad = base.grad, None
        return std.detach(), grad

    def built(feats, anchor, idx):
        return (group_points(feats, idx) - anchor[:, :, None]).reshape(B, -1).std(-1)

    std_fast, grad_fast = run(_group_std)
    std_ref, grad_ref = run(built)
    assert std_fast.dtype == dtype
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    assert torch.allclose(std_fast, std_ref, rtol=tol, atol=0)
    assert torch.allclose(grad_fast, grad_ref, rtol=tol * 10, atol=tol * grad_ref.abs().max())
