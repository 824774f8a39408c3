"""tap3d.ops.cpu.dropout: the cheap CPU dropout mask."""
import pytest
import torch
import torch.nn as nn

from tap3d.ops.cpu.dropout import Dropout, _MaskedScale, dropout, use_torch_dropout


@pytest.mark.parametrize('p', [0.1, 0.5])
def test_drop_rate_and_scale(p):
    torch.manual_seed(0)
    n = 1 << 20
    y = dropout(torch.ones(n), p)
    kept = y != 0
    # binomial std of the rate is below 5e-4 here
    assert abs(kept.float().mean().item() - (1 - p)) < 3e-3
    keep_prob = 1 - round(p * 65536) / 65536
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / keep_prob))
    # every int16 lane of the random words is uniform, including the one with the
    # words' top bits (the four lanes are the positions i % 4)
    rates = (~kept).view(-1, 4).float().mean(0)
    assert torch.allclose(rates, torch.full_like(rates, p), atol=6e-3), rates


def test_gradient_is_the_mask_times_the_scale():
    torch.manual_seed(1)
    x = torch.randn(4, 50, 32, requires_grad=True)
    y = dropout(x, 0.3)
    y.backward(torch.ones_like(y))
    kept = y.detach() != 0
    scale = 1 / (1 - round(0.3 * 65536) / 65536)
    assert torch.equal(x.grad, kept.float() * scale)
    assert torch.allclose(y.detach()[kept], x.detach()[kept] * scale)
    keep = torch.rand(3, 5) > 0.5
    xd = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: _MaskedScale.apply(t, keep, 1.25), (xd, ))


def test_module_modes_and_seeding():
    x = torch.randn(2, 7, 16)
    drop = Dropout(0.2)
    torch.manual_seed(3)
    a = drop(x)
    torch.manual_seed(3)
    b = drop(x)
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert torch.equal(drop.eval()(x), x)
    assert torch.equal(Dropout(0.0)(x), x)
    assert torch.equal(Dropout(1.0)(x), torch.zeros_like(x))
    assert dropout(x.bfloat16(), 0.2).dtype == torch.bfloat16
    # fast=False is torch's dropout: the same draws as nn.Dropout
    torch.manual_seed(4)
    c = Dropout(0.2, fast=False)(x)
    torch.manual_seed(4)
    assert torch.equal(c, nn.Dropout(0.2)(x))
    assert 'fast=False' in repr(Dropout(0.2, fast=False))


def test_reference_head_uses_torch_dropout():
    from tap3d.models.heads.tap_head import TAPHead
    from tools.analysis.reference_models import TAPHeadReference
    kw = dict(in_channels=16, embed_dims=16, depth=1, num_heads=2, head_dims=8, img_size=32,
              obj_size=28, downsample=8)
    fast = [m.fast for m in TAPHead(**kw).modules() if isinstance(m, Dropout)]
    ref = [m.fast for m in TAPHeadReference(**kw).modules() if isinstance(m, Dropout)]
    assert fast and all(fast)
    assert len(ref) == len(fast) and not any(ref)
    assert use_torch_dropout(nn.Sequential(Dropout(0.1)))[0].fast is False
