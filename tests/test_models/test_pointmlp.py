"""Tests for the PointMLP backbone."""
import pytest
import torch
import torch.nn as nn

from tap3d.models.backbones import PointMLP
from tap3d.models.backbones.pointmlp import LocalGrouper
from tap3d.registry import MODELS
from tap3d.testing import count_parameters as _count


def _authors_cls_head(in_channels=1024, num_classes=15):
    """The TAP authors' classifier on top of PointMLP (no bias before the BNs)."""
    return nn.Sequential(
        nn.Linear(in_channels, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(512, 256, bias=False), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(256, num_classes))


def test_parameter_counts_match_reference():
    backbone = PointMLP(in_channels=4)
    assert _count(backbone) == pytest.approx(12_570_624, rel=0.01)
    assert _count(backbone) == 12_570_624  # exact, in fact
    classifier = _count(backbone) + _count(_authors_cls_head(backbone.global_channels))
    assert classifier == pytest.approx(13_231_375, rel=0.01)
    from tap3d.models.heads import ClsHead
    head = MODELS.build(dict(type='ClsHead', in_channels=1024, num_classes=15))
    assert isinstance(head, ClsHead)
    assert _count(backbone) + _count(head) == pytest.approx(13_231_375, rel=0.01)


def test_elite_preset_and_overrides():
    elite = PointMLP(arch='elite')
    assert elite.out_channels == 256 and elite.stage_channels == [32, 64, 128, 256, 256]
    assert _count(elite) < 0.05 * _count(PointMLP())
    custom = PointMLP(arch='elite', embed_dim=8)
    assert custom.stage_channels[0] == 8
    with pytest.raises(ValueError, match='arch'):
        PointMLP(arch='huge')
    with pytest.raises(ValueError, match='k_neighbors'):
        PointMLP(k_neighbors=(24, 24))


def test_forward_contract_and_stages():
    torch.manual_seed(0)
    model = PointMLP(in_channels=4, embed_dim=8, k_neighbors=(8, 8, 8, 8),
                     return_stages=True).eval()
    B, N = 2, 256
    points = torch.rand(B, N, 3)
    feats = torch.cat([points, points[..., 2:]], dim=-1)
    out = model(dict(coord=points, feat=feats))
    assert out['coords'].shape == (B, 16, 3)
    assert out['feats'].shape == (B, 16, model.out_channels) == (B, 16, 128)
    assert torch.allclose(out['global_feat'], out['feats'].max(dim=1)[0])
    # centres are input points (FPS subsets)
    d = (out['coords'][:, :, None] - points[:, None]).norm(dim=-1).min(dim=-1)[0]
    assert torch.allclose(d, torch.zeros_like(d), atol=1e-6)
    sizes = [t.shape[1] for t in out['stage_coords']]
    assert sizes == [256, 128, 64, 32, 16]
    assert [t.shape[-1] for t in out['stage_feats']] == model.stage_channels
    assert torch.equal(out['stage_coords'][0], points)
    out['global_feat'].sum().backward()
    assert model.embedding.net[0].weight.grad is not None


def test_reference_key_names_and_conv_weights_load():
    model = PointMLP(in_channels=4, embed_dim=8, k_neighbors=(8, 8, 8, 8))
    keys = set(model.state_dict())
    for key in ('embedding.net.0.weight', 'embedding.net.1.running_mean',
                'local_grouper_list.0.affine_alpha', 'local_grouper_list.3.affine_beta',
                'pre_blocks_list.0.transfer.net.0.weight',
                'pre_blocks_list.1.operation.1.net2.0.weight',
                'pos_blocks_list.3.operation.0.net1.1.weight'):
        assert key in keys, key
    # a checkpoint of the reference's Conv1d layers, weights (out, in, 1)
    state = {k: (v.unsqueeze(-1) + 1.0 if v.dim() == 2 else v)
             for k, v in model.state_dict().items()}
    fresh = PointMLP(in_channels=4, embed_dim=8, k_neighbors=(8, 8, 8, 8))
    fresh.load_state_dict(state)
    assert torch.allclose(fresh.embedding.net[0].weight, state['embedding.net.0.weight'][..., 0])


def test_anchor_grouping():
    torch.manual_seed(0)
    grouper = LocalGrouper(channels=6, reducer=4, k=5)
    xyz, feats = torch.rand(2, 40, 3), torch.randn(2, 40, 6)
    new_xyz, grouped = grouper(xyz, feats)
    assert new_xyz.shape == (2, 10, 3) and grouped.shape == (2, 10, 5, 12)
    # second half: the anchor's own feature repeated over the group
    assert torch.allclose(grouped[..., 6:], grouped[:, :, :1, 6:].expand(-1, -1, 5, -1))
    # first half with alpha=1, beta=0: (x - anchor) / std over the sample; the
    # nearest neighbour of a centre is the centre itself, so its row is zero
    assert torch.allclose(grouped[:, :, 0, :6], torch.zeros(2, 10, 6), atol=1e-5)
    std = grouped[..., :6].reshape(2, -1).std(dim=-1)
    assert torch.allclose(std, torch.ones(2), atol=1e-3)


def test_bad_inputs():
    model = PointMLP(in_channels=4, embed_dim=8)
    with pytest.raises(ValueError, match='in_channels=4'):
        model(dict(coord=torch.rand(1, 64, 3), feat=torch.rand(1, 64, 3)))
    with pytest.raises(KeyError, match='coord'):
        model(dict(feat=torch.rand(1, 64, 4)))
    with pytest.raises(ValueError, match='cannot take'):
        model(dict(coord=torch.rand(1, 20, 3), feat=torch.rand(1, 20, 4)))
