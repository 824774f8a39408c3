"""SpUNetBackbone: voxel bookkeeping, both output modes, and the spconv import hint."""
import importlib.util
import sys

import pytest
import torch

from projects.sparse_unet.sparse_unet import SpUNetBackbone

needs_spconv = pytest.mark.skipif(
    importlib.util.find_spec('spconv') is None, reason='spconv (spconv-cu120) not installed')

TINY = dict(in_channels=6, base_channels=8, channels=(8, 16, 16, 16, 16, 16, 8, 8),
            layers=(1, 1, 1, 1, 1, 1, 1, 1), grid_size=0.1)


def _batch(sizes=(300, 200), seed=0):
    gen = torch.Generator().manual_seed(seed)
    n = sum(sizes)
    coord = torch.rand(n, 3, generator=gen) * torch.tensor([3.0, 2.0, 1.0])
    return dict(coord=coord, feat=torch.randn(n, 6, generator=gen),
                offset=torch.cumsum(torch.tensor(sizes), 0))


@needs_spconv
def test_decoder_features_follow_points_through_a_shuffle():
    torch.manual_seed(0)
    model = SpUNetBackbone(**TINY).eval()
    inputs = _batch()
    with torch.no_grad():
        out = model(inputs)
        # permute the points inside each sample; each point must keep its feature
        perm = torch.cat([torch.randperm(300), 300 + torch.randperm(200)])
        shuffled = dict(coord=inputs['coord'][perm], feat=inputs['feat'][perm],
                        offset=inputs['offset'])
        out2 = model(shuffled)
    assert out['feats'].shape == (500, 8) and model.out_channels == 8
    torch.testing.assert_close(out2['feats'], out['feats'][perm], rtol=1e-4, atol=1e-5)
    assert torch.equal(out['offset'], inputs['offset'])


@needs_spconv
def test_points_sharing_a_voxel_share_a_feature_and_grads_flow():
    torch.manual_seed(0)
    model = SpUNetBackbone(**TINY)
    inputs = _batch()
    inputs['coord'][1] = inputs['coord'][0] + 1e-4  # same 0.1 m voxel as point 0
    out = model(inputs)
    torch.testing.assert_close(out['feats'][0], out['feats'][1])
    out['feats'].square().sum().backward()
    assert model.stem.conv.weight.grad.abs().sum() > 0
    assert model.dec[0][0].conv1.weight.grad.abs().sum() > 0


@needs_spconv
def test_encoder_tokens_are_deepest_voxels_in_offset_form():
    torch.manual_seed(0)
    model = SpUNetBackbone(out='encoder', **TINY)
    assert model.up is None and model.out_channels == 16
    inputs = _batch()
    out = model(inputs)
    m = out['feats'].shape[0]
    assert out['coords'].shape == (m, 3) and out['feats'].shape == (m, 16)
    assert int(out['offset'][-1]) == m and out['offset'].shape == (2, )
    # sample 0's tokens are the means of its points grouped by stride-16 voxel
    coord0 = inputs['coord'][:300]
    start = coord0.min(0).values
    deep = torch.div(torch.floor((coord0 - start) / 0.1).long(), 16, rounding_mode='floor')
    _, inv = torch.unique(deep, dim=0, return_inverse=True)
    means = torch.stack([coord0[inv == i].mean(0) for i in range(int(inv.max()) + 1)])
    got = out['coords'][:int(out['offset'][0])]
    assert got.shape == means.shape
    key = lambda x: sorted(map(tuple, x.round(decimals=4).tolist()))  # noqa: E731
    assert key(got) == key(means)
    # the encoder-only weights are a subset of the full model's
    assert set(model.state_dict()) <= set(SpUNetBackbone(**TINY).state_dict())


@needs_spconv
def test_given_grid_coord_is_used_and_checked():
    model = SpUNetBackbone(**TINY).eval()
    inputs = _batch()
    inputs['grid_coord'] = torch.floor(inputs['coord'] / 0.1).long()
    with torch.no_grad():
        assert model(inputs)['feats'].shape == (500, 8)
    inputs['grid_coord'][0, 0] = -1
    with pytest.raises(ValueError, match='non-negative'):
        model(inputs)


@needs_spconv
def test_reference_widths_parameter_count():
    # SpUNet-v1m1's layout (32..256..96) without a classifier; built on the meta
    # device because only the shapes matter here
    with torch.device('meta'):
        model = SpUNetBackbone()
    assert sum(p.numel() for p in model.parameters()) == 39_167_904


def test_missing_spconv_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, 'spconv', None)
    monkeypatch.setitem(sys.modules, 'spconv.pytorch', None)
    with pytest.raises(ImportError, match='spconv-cu120'):
        SpUNetBackbone(**TINY)


@needs_spconv
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_same_features_on_cuda():
    torch.manual_seed(0)
    model = SpUNetBackbone(**TINY).eval()
    inputs = _batch()
    with torch.no_grad():
        want = model(inputs)['feats']
        got = model.to('cuda')({k: v.to('cuda') for k, v in inputs.items()})['feats']
    torch.testing.assert_close(got.cpu(), want, rtol=1e-3, atol=1e-4)
