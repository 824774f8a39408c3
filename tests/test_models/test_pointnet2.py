"""PointNet++: parameter counts of the TAP configuration, the backbone contract,
and that the classification and TAP forms share one set of weights."""
import pytest
import torch

from tap3d.models.backbones.pointnet2 import PointNet2
from tap3d.models.heads.cls_head import ClsHead
from tap3d.testing import check_backbone_contract, object_batch
from tap3d.testing import count_parameters as _count

pytestmark = pytest.mark.usefixtures('one_thread')  # see conftest.py


def test_ssg_parameter_count_matches_the_tap_configuration():
    backbone = PointNet2(in_channels=4)
    head = ClsHead(in_channels=backbone.global_channels, num_classes=15)
    assert _count(backbone) == 805_440
    assert _count(head) == 660_751
    assert _count(backbone) + _count(head) == 1_466_191


def test_msg_preset_builds_with_concatenated_scales():
    backbone = PointNet2(in_channels=4, arch='msg')
    assert backbone.stages[0].out_channels == 64 + 128 + 128
    assert backbone.stages[1].out_channels == 128 + 256 + 256
    assert backbone.out_channels == 1024
    # Regression value of this implementation (the TAP authors did not use MSG).
    assert _count(backbone) == 1_076_320


def test_forward_backward_contract_classification_form():
    torch.manual_seed(0)
    model = PointNet2(in_channels=4, num_points=(32, 8, None), num_samples=(8, 8, None))
    check_backbone_contract(model, object_batch(), num_tokens=1, channels=1024,
                            global_channels=1024)
    assert model.stages[0].branches[0][0].weight.grad.abs().sum() > 0


def test_tap_form_keeps_local_centres_with_the_same_weights():
    torch.manual_seed(0)
    cls_form = PointNet2(in_channels=4, num_points=(32, 16, None), num_samples=(8, 8, None))
    tap_form = PointNet2(in_channels=4, num_points=(32, 16, 8), radii=(0.2, 0.4, 0.2),
                         num_samples=(8, 8, 8))
    # Identical state dicts: a TAP checkpoint loads into the classifier unchanged.
    assert cls_form.state_dict().keys() == tap_form.state_dict().keys()
    tap_form.load_state_dict(cls_form.state_dict())
    points = torch.rand(2, 64, 3)
    out = tap_form(dict(coord=points, feat=torch.cat([points, points[..., 2:]], -1)))
    assert out['coords'].shape == (2, 8, 3)
    assert out['feats'].shape == (2, 8, 1024)
    # Centres are actual input points (FPS).
    d = torch.cdist(out['coords'], points).amin(dim=-1)
    assert torch.allclose(d, torch.zeros_like(d), atol=1e-6)


def test_wrong_feature_width_raises():
    model = PointNet2(in_channels=4, num_points=(16, 8, None), num_samples=(4, 4, None))
    with pytest.raises(ValueError, match='4 input feature channels'):
        model(dict(coord=torch.rand(1, 32, 3), feat=torch.rand(1, 32, 3)))
