"""tap3d.ops.cpu.bn_act: the fused CPU BN + residual + ReLU against torch's ops."""

import pytest
import torch
import torch.nn as nn

from tap3d.ops.cpu import bn_act
from tap3d.ops.cpu.bn_act import batch_norm_act, cpu_kernels

needs_kernels = pytest.mark.usefixtures('built_cpu_kernels')  # see conftest.py


def _pair(channels, affine=True, momentum=0.1, seed=0):
    torch.manual_seed(seed)
    bn = nn.BatchNorm1d(channels, affine=affine, momentum=momentum)
    if affine:
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.normal_()
    ref = nn.BatchNorm1d(channels, affine=affine, momentum=momentum)
    ref.load_state_dict(bn.state_dict())
    return bn, ref


def _run(bn, x, residual, act, grad, fused=True):
    x = x.clone().requires_grad_()
    res = residual.clone().requires_grad_() if residual is not None else None
    if fused:
        y = batch_norm_act(x, bn, res, act)
    else:
        y = nn.BatchNorm1d.forward(bn, x)
        y = y + res if res is not None else y
        y = act(y) if act is not None else y
    y.backward(grad)
    params = [p.grad for p in (bn.weight, bn.bias) if p is not None]
    return y.detach(), x.grad, res.grad if res is not None else None, params


@needs_kernels
@pytest.mark.parametrize('rows,channels', [(1037, 5), (4096, 64), (3, 17)])
@pytest.mark.parametrize('residual', [False, True])
@pytest.mark.parametrize('relu', [True, False])
def test_fused_matches_torch(rows, channels, residual, relu):
    assert cpu_kernels() is not None, 'the fused kernel did not build'
    bn, ref = _pair(channels)
    gen = torch.Generator().manual_seed(rows + channels)
    x = torch.randn(rows, channels, generator=gen) * 3 + 2
    res = torch.randn(rows, channels, generator=gen) if residual else None
    grad = torch.randn(rows, channels, generator=gen)
    act = nn.ReLU() if relu else None
    got = _run(bn, x, res, act, grad)
    want = _run(ref, x, res, act, grad, fused=False)
    torch.testing.assert_close(got[0], want[0], atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(got[1], want[1], atol=2e-5, rtol=1e-4)
    if residual:
        torch.testing.assert_close(got[2], want[2], atol=1e-6, rtol=0)
    for a, b in zip(got[3], want[3]):
        torch.testing.assert_close(a, b, atol=2e-4, rtol=1e-4)
    torch.testing.assert_close(bn.running_mean, ref.running_mean, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(bn.running_var, ref.running_var, atol=1e-5, rtol=1e-5)
    assert bn.num_batches_tracked.item() == ref.num_batches_tracked.item() == 1


@needs_kernels
def test_statistics_of_large_means_and_no_affine():
    """|mean| >> std: the shifted sums stay close to a float64 BN (closer than torch's)."""
    bn, ref = _pair(8, affine=False, momentum=None)
    x = (torch.randn(5000, 8, dtype=torch.float64) * 0.01 + 300).float()
    grad = torch.randn(5000, 8)
    ref64 = ref.double()
    for _ in range(2):  # momentum=None: cumulative average over the batches
        got = _run(bn, x, None, nn.ReLU(), grad)
        want = _run(ref64, x.double(), None, nn.ReLU(), grad.double(), fused=False)
    plain = _run(_pair(8, affine=False)[0], x, None, nn.ReLU(), grad, fused=False)
    err = (got[0].double() - want[0]).abs().max()
    assert err < 5e-3 and err <= (plain[0].double() - want[0]).abs().max()
    torch.testing.assert_close(bn.running_mean.double(), ref64.running_mean)
    torch.testing.assert_close(bn.running_var.double(), ref64.running_var, atol=1e-7, rtol=1e-5)


@needs_kernels
def test_pointmlp_block_same_with_and_without_kernel(monkeypatch):
    from tap3d.models.backbones.pointmlp import ConvBNReLURes1D
    torch.manual_seed(0)
    block = ConvBNReLURes1D(16, res_expansion=0.5).train()
    x = torch.randn(2, 30, 4, 16, requires_grad=True)
    out = block(x)
    out.square().sum().backward()
    got = (out.detach(), x.grad.clone(), [p.grad.clone() for p in block.parameters()])
    x.grad = None
    block.zero_grad()
    monkeypatch.setenv('TAP3D_CPU_KERNELS', '0')
    out = block(x)
    out.square().sum().backward()
    torch.testing.assert_close(got[0], out.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got[1], x.grad, atol=1e-4, rtol=1e-4)
    for a, p in zip(got[2], block.parameters()):
        torch.testing.assert_close(a, p.grad, atol=1e-3, rtol=1e-4)


def test_torch_ops_where_the_kernel_does_not_apply(monkeypatch):
    calls = []
    monkeypatch.setattr(bn_act, 'cpu_kernels', lambda: calls.append(1))
    bn, ref = _pair(6)
    x = torch.randn(40, 6)
    # eval mode, GELU, non-contiguous rows, bf16: torch's ops, same values
    torch.testing.assert_close(batch_norm_act(x, bn.eval(), None, nn.ReLU()),
                               torch.relu(ref.eval()(x)))
    bn.train(), ref.train()
    torch.testing.assert_close(batch_norm_act(x, bn, None, nn.GELU()),
                               nn.functional.gelu(ref(x)))
    xt = torch.randn(6, 40).t()
    torch.testing.assert_close(batch_norm_act(xt, bn, None, nn.ReLU()), torch.relu(ref(xt)))
    assert batch_norm_act(x.bfloat16(), bn.bfloat16(), None, nn.ReLU()).dtype == torch.bfloat16
    assert not calls


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setenv('TAP3D_CPU_KERNELS', '0')
    assert cpu_kernels() is None
    bn, ref = _pair(3)
    x = torch.randn(10, 3)
    torch.testing.assert_close(batch_norm_act(x, bn, x, nn.ReLU()), torch.relu(ref(x) + x))


def test_torch_path_calls_the_layer_itself(monkeypatch):
    """Converted layers (SyncBatchNorm) keep their own forward: never fused, never bypassed."""
    from tap3d.ops.cpu.bn_act import _fusable
    x = torch.randn(12, 4)
    assert not _fusable(x, nn.SyncBatchNorm(4), None, nn.ReLU())

    class Counting(nn.BatchNorm1d):
        calls = 0

        def forward(self, inp):
            Counting.calls += 1
            return super().forward(inp)

    monkeypatch.setenv('TAP3D_CPU_KERNELS', '0')
    bn = Counting(4)
    y = batch_norm_act(x, bn, x, nn.ReLU())
    assert Counting.calls == 1 and y.shape == x.shape and (y >= 0).all()
