"""SceneSegmentor: modes, CE with ignore label, full-scene mapping and voting."""
import pytest
import torch
import torch.nn as nn
from mmengine.structures import BaseDataElement

from tap3d.models.segmentors.scene_segmentor import SceneSegmentor
from tap3d.registry import MODELS


@MODELS.register_module(name='_TestPointwiseBackbone', force=True)
class _PointwiseBackbone(nn.Module):
    """Per-point linear features: predictions depend only on each point's input."""

    def __init__(self, in_channels=4, out_channels=5):
        super().__init__()
        self.out_channels = out_channels
        self.fc = nn.Linear(in_channels, out_channels)

    def forward(self, inputs):
        return dict(coords=inputs['coord'], feats=self.fc(inputs['feat']),
                    offset=inputs['offset'])


def _model(**kwargs):
    torch.manual_seed(0)
    return SceneSegmentor(
        backbone=dict(type='_TestPointwiseBackbone'),
        head=dict(type='SegHead', num_classes=3), **kwargs)


def _inputs(sizes=(6, 4)):
    gen = torch.Generator().manual_seed(0)
    n = sum(sizes)
    return dict(coord=torch.rand(n, 3, generator=gen), feat=torch.randn(n, 4, generator=gen),
                offset=torch.cumsum(torch.tensor(sizes), 0))


def test_loss_ignores_unlabelled_points_and_backpropagates():
    model = _model()
    inputs = _inputs()
    labels = [torch.tensor([0, 1, 2, -1, -1, 0]), torch.tensor([1, -1, 2, 2])]
    samples = [BaseDataElement(gt_sem_labels=lab) for lab in labels]
    loss = model(inputs, samples, mode='loss')['loss_sem_seg']
    logits = model(inputs, mode='tensor')
    target = torch.cat(labels)
    keep = target != -1
    want = nn.functional.cross_entropy(logits[keep], target[keep])
    torch.testing.assert_close(loss, want)
    loss.backward()
    assert model.backbone.fc.weight.grad.abs().sum() > 0


def test_loss_with_only_ignored_labels_is_zero_not_nan():
    model = _model()
    samples = [BaseDataElement(gt_sem_labels=torch.full((n, ), -1)) for n in (6, 4)]
    loss = model(_inputs(), samples, mode='loss')['loss_sem_seg']
    assert torch.isfinite(loss) and float(loss) == 0.0


def test_predict_per_sample_and_full_scene_inverse():
    model = _model(keep_scores=True).eval()
    inputs = _inputs()
    logits = model(inputs, mode='tensor')
    inverse = torch.tensor([0, 0, 3, 1, 2, 3, 3])  # 7 original points -> 4 rows
    samples = [BaseDataElement(), BaseDataElement(inverse=inverse)]
    out = model(inputs, samples, mode='predict')
    assert torch.equal(out[0].pred_sem_labels, logits[:6].argmax(1))
    assert torch.equal(out[1].pred_sem_labels, logits[6:].argmax(1)[inverse])
    assert out[1].pred_sem_scores.shape == (7, 3)


def test_fragment_voting_sums_scores_over_fragments():
    model = _model(fragment_batch=2, keep_scores=True).eval()
    gen = torch.Generator().manual_seed(1)
    scene_feat = torch.randn(5, 4, generator=gen)
    scene_coord = torch.rand(5, 3, generator=gen)
    # three fragments, each a different subset; point 4 is seen twice, point 3 once
    indices = [torch.tensor([0, 1, 4]), torch.tensor([2, 4]), torch.tensor([3, 0])]
    fragments = [dict(coord=scene_coord[i], feat=scene_feat[i], index=i) for i in indices]
    sample = BaseDataElement(gt_sem_labels=torch.zeros(5, dtype=torch.long))
    out = model(dict(fragments=[fragments]), [sample], mode='predict')[0]
    # with a per-point model, every fragment scores a point the same: votes ∝ count
    probs = torch.softmax(model(dict(coord=scene_coord, feat=scene_feat,
                                     offset=torch.tensor([5])), mode='tensor'), 1)
    counts = torch.tensor([2., 1., 1., 1., 2.])
    votes = model.vote_fragments(fragments, 5)
    torch.testing.assert_close(votes, probs * counts[:, None])
    assert torch.equal(out.pred_sem_labels, probs.argmax(1))
    torch.testing.assert_close(out.pred_sem_scores.sum(1), torch.ones(5))


def test_scores_are_dropped_unless_asked_for():
    out = _model().eval()(_inputs(), [BaseDataElement(), BaseDataElement()], mode='predict')
    assert 'pred_sem_scores' not in out[0] and out[0].pred_sem_labels.shape == (6, )


def test_unknown_mode_raises():
    with pytest.raises(ValueError, match='unknown mode'):
        _model()(_inputs(), None, mode='logits')


def test_label_count_mismatch_raises():
    samples = [BaseDataElement(gt_sem_labels=torch.zeros(3, dtype=torch.long))]
    with pytest.raises(ValueError, match='labels'):
        _model()(_inputs(), samples, mode='loss')
