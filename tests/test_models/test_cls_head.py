"""ClsHead and the smoothed cross-entropy on hand-computed cases."""
import math

import pytest
import torch
from mmengine.structures import BaseDataElement

from tap3d.models.heads.cls_head import ClsHead, get_gt_labels
from tap3d.models.losses.cross_entropy import LabelSmoothingCrossEntropy


def test_smoothing_zero_is_plain_cross_entropy():
    logits = torch.randn(6, 4)
    target = torch.tensor([0, 1, 2, 3, 0, 1])
    ours = LabelSmoothingCrossEntropy(0.0)(logits, target)
    assert torch.allclose(ours, torch.nn.functional.cross_entropy(logits, target))


def test_smoothing_spreads_mass_over_other_classes():
    # Uniform logits: every log-prob is -log K whatever the target distribution.
    logits = torch.zeros(1, 3)
    loss = LabelSmoothingCrossEntropy(0.3)(logits, torch.tensor([2]))
    assert math.isclose(loss.item(), math.log(3), rel_tol=1e-6)
    # One-hot-ish logits by hand: target 0.7 on class 0, 0.15 on classes 1 and 2.
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    logp = torch.log_softmax(logits, -1)[0]
    expected = -(0.7 * logp[0] + 0.15 * logp[1] + 0.15 * logp[2])
    loss = LabelSmoothingCrossEntropy(0.3, loss_weight=2.0)(logits, torch.tensor([0]))
    assert torch.allclose(loss, 2 * expected)


def test_bad_smoothing_raises():
    with pytest.raises(ValueError, match='smoothing'):
        LabelSmoothingCrossEntropy(1.0)


def test_head_layout_and_counts():
    head = ClsHead(in_channels=1024, num_classes=15)
    kinds = [type(m).__name__ for m in head.mlp]
    assert kinds == ['Linear', 'BatchNorm1d', 'ReLU', 'Dropout'] * 2 + ['Linear']
    assert head.mlp[0].bias is None and head.mlp[-1].bias is not None
    assert sum(p.numel() for p in head.parameters()) == 660_751
    no_norm = ClsHead(in_channels=8, num_classes=2, hidden_channels=(4, ), norm=False)
    assert no_norm.mlp[0].bias is not None


def test_head_loss_and_label_parsing():
    torch.manual_seed(0)
    head = ClsHead(in_channels=8, num_classes=3, hidden_channels=(16, ))
    samples = [BaseDataElement(gt_label=torch.tensor([1])), BaseDataElement(gt_label=2)]
    assert get_gt_labels(samples).tolist() == [1, 2]
    out = head.loss(dict(global_feat=torch.randn(2, 8)), samples)
    assert out['loss'].ndim == 0 and 0.0 <= out['acc'].item() <= 1.0
    with pytest.raises(ValueError, match='expects'):
        head(torch.randn(2, 7))
    with pytest.raises(KeyError, match='gt_label'):
        head.loss(torch.randn(1, 8), [BaseDataElement()])
