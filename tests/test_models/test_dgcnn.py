"""DGCNN: parameter counts, kNN against brute force, contract and gradients."""
import pytest
import torch

from tap3d.models.backbones.dgcnn import DGCNN, knn_indices
from tap3d.models.heads.cls_head import ClsHead
from tap3d.testing import check_backbone_contract, object_batch
from tap3d.testing import count_parameters as _count

pytestmark = pytest.mark.usefixtures('one_thread')  # see conftest.py


def test_parameter_count_matches_the_tap_configuration():
    backbone = DGCNN(in_channels=4)
    head = ClsHead(in_channels=backbone.global_channels, num_classes=15)
    assert _count(backbone) == 617_984
    assert _count(head) == 1_185_039
    assert _count(backbone) + _count(head) == 1_803_023


def test_knn_indices_match_brute_force():
    torch.manual_seed(0)
    x = torch.randn(2, 40, 7)
    idx = knn_indices(x, 5)
    ref = torch.cdist(x, x).topk(5, largest=False).indices
    got_d = torch.cdist(x, x).gather(-1, idx)
    ref_d = torch.cdist(x, x).gather(-1, ref)
    assert torch.allclose(got_d.sort(-1).values, ref_d.sort(-1).values, atol=1e-5)
    assert (idx[..., 0] == torch.arange(40)).all()  # each point is its own nearest


def test_forward_backward_contract():
    torch.manual_seed(0)
    model = DGCNN(in_channels=4, k=8, channels=(8, 8, 16, 16), embed_dims=32)
    inputs = object_batch(num_points=48)
    out = check_backbone_contract(model, inputs, num_tokens=48, channels=32,
                                  global_channels=64)
    assert torch.equal(out['coords'], inputs['coord'])  # M = N: the centres are the points
    assert model.edge_convs[0].conv[0].weight.grad.abs().sum() > 0


def test_optional_fps_centres():
    model = DGCNN(in_channels=3, k=4, channels=(8, 8, 8, 8), embed_dims=16, num_centers=10)
    out = model(dict(coord=torch.rand(2, 32, 3)))
    assert out['coords'].shape == (2, 10, 3)
    assert out['feats'].shape == (2, 10, 16)


def test_too_few_points_for_k_raises():
    model = DGCNN(in_channels=3, k=20, channels=(8, 8, 8, 8), embed_dims=16)
    with pytest.raises(ValueError, match='k=20'):
        model(dict(coord=torch.rand(1, 10, 3)))
