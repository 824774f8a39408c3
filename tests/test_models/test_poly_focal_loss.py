"""Poly1FocalLoss: hand-computed value, limits, and the ShapeNetPart TAP recipe uses it."""
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from tap3d.models.losses import Poly1FocalLoss

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_value_by_hand():
    # z = 0: p = 1/2, p_t = 1/2 for both classes, BCE = ln 2;
    # alpha_t = 0.25 (true class) and 0.75 (other): mean = ln2 / 8 + 1/8
    loss = Poly1FocalLoss()(torch.zeros(1, 2), torch.tensor([0]))
    assert loss.item() == pytest.approx(math.log(2) / 8 + 0.125, rel=1e-6)


def test_limits_and_gradient():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 5, generator=g, requires_grad=True)
    target = torch.randint(0, 5, (7, ), generator=g)
    # gamma 0, no alpha, no poly term: the mean binary cross-entropy
    plain = Poly1FocalLoss(epsilon=0.0, alpha=-1, gamma=0.0)(logits, target)
    bce = F.binary_cross_entropy_with_logits(logits, F.one_hot(target, 5).float())
    torch.testing.assert_close(plain, bce)
    loss = Poly1FocalLoss()(logits, target)
    loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    # confident and right costs less than confident and wrong
    right = torch.full((1, 5), -6.0)
    right[0, 2] = 6.0
    assert Poly1FocalLoss()(right, torch.tensor([2])) < Poly1FocalLoss()(right,
                                                                         torch.tensor([3]))
    with pytest.raises(ValueError, match='expected logits'):
        Poly1FocalLoss()(logits, target[:3])


def test_tap_shapenetpart_recipe_uses_the_authors_loss():
    name = 'pointmlp-partseg_tap-shapenet55-pre_1xb16-adamw-step-300e_shapenetpart.py'
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pointmlp', name))
    assert cfg.model.loss.type == 'Poly1FocalLoss'
