"""tap3d.models.utils.cpu_kernels and group_max: building the kernels, the group max."""
import importlib
import shutil

import pytest
import torch

from tap3d.models.utils.cpu_kernels import build, cpu_kernels
from tap3d.models.utils.group_max import group_max

# the module (tap3d.models.utils.group_max is the function, re-exported)
group_max_module = importlib.import_module('tap3d.models.utils.group_max')

needs_compiler = pytest.mark.skipif(shutil.which('c++') is None,
                                    reason='the fused CPU kernels need a C++ compiler')


@needs_compiler
@pytest.mark.parametrize('shape', [(2, 33, 24, 40), (3, 5, 1, 7), (64, 9)])
def test_group_max_matches_torch(shape):
    assert cpu_kernels() is not None, 'the fused kernels did not build'
    gen = torch.Generator().manual_seed(sum(shape))
    x = torch.randn(*shape, generator=gen)
    grad = torch.randn(*shape[:-2], shape[-1], generator=gen)
    a = x.clone().requires_grad_()
    b = x.clone().requires_grad_()
    out = group_max(a)
    want = b.max(dim=-2)[0]
    assert out.shape == want.shape and torch.equal(out, want)
    out.backward(grad)
    want.backward(grad)
    assert torch.equal(a.grad, b.grad)


@needs_compiler
def test_group_max_ties_and_nan_follow_torch():
    x = torch.relu(torch.randn(4, 6, 24, 16))  # many ties at zero
    x[0, 0, :, 0] = 0.0
    x[1, 2, 5, 3] = float('nan')
    x[1, 2, 9, 3] = float('nan')
    a = x.clone().requires_grad_()
    b = x.clone().requires_grad_()
    out, want = group_max(a), b.max(dim=-2)[0]
    assert torch.equal(out.isnan(), want.isnan())
    assert torch.equal(out.nan_to_num(), want.nan_to_num())
    grad = torch.ones_like(out)
    out.backward(grad)
    want.backward(grad)
    # the same member gets the gradient: the first maximum (or first NaN)
    assert torch.equal(a.grad, b.grad)


def test_group_max_falls_back_to_torch(monkeypatch):
    calls = []
    monkeypatch.setattr(group_max_module, 'cpu_kernels', lambda: calls.append(1))
    x = torch.randn(3, 8, 5)
    assert torch.equal(group_max(x.transpose(0, 1).contiguous().transpose(0, 1)),
                       x.max(dim=-2)[0])  # non-contiguous
    assert torch.equal(group_max(x.double()), x.double().max(dim=-2)[0])
    assert not calls
    assert torch.equal(group_max(x), x.max(dim=-2)[0])  # asked, returned None
    assert calls == [1]


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setenv('TAP3D_CPU_KERNELS', '0')
    assert cpu_kernels() is None


@needs_compiler
def test_failed_build_warns_and_returns_none(tmp_path):
    broken = tmp_path / 'broken.cpp'
    broken.write_text('this is not C++\n')
    with pytest.warns(UserWarning, match='broken.cpp'):
        assert build(str(broken), name='tap3d_test_broken_kernel') is None
