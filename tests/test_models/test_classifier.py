"""PointClassifier: forward modes, voting (seeded, consistent feats), PointMLP fit."""
import pytest
import torch
from mmengine.structures import BaseDataElement

from tap3d.models.classifiers.point_classifier import PointClassifier, scale_for_vote

pytestmark = pytest.mark.usefixtures('one_thread')  # see conftest.py


TINY_DGCNN = dict(type='DGCNN', in_channels=4, k=4, channels=(8, 8, 8, 8), embed_dims=16)


def _batch(B=3, N=24, seed=0):
    gen = torch.Generator().manual_seed(seed)
    points = torch.rand(B, N, 3, generator=gen)
    feats = torch.cat([points, points[..., 2:] - points[..., 2:].amin(1, keepdim=True)], -1)
    samples = [BaseDataElement(gt_label=torch.tensor([i % 5])) for i in range(B)]
    return dict(coord=points, feat=feats), samples


def _model(**test_cfg):
    torch.manual_seed(0)
    model = PointClassifier(
        backbone=TINY_DGCNN,
        head=dict(type='ClsHead', num_classes=5, hidden_channels=(16, ),
                  loss=dict(type='LabelSmoothingCrossEntropy', smoothing=0.3)),
        test_cfg=test_cfg)
    return model.eval()


def test_head_width_defaults_to_backbone_global_channels():
    assert _model().head.in_channels == 32


def test_forward_modes():
    model = _model()
    inputs, samples = _batch()
    model.train()
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss', 'acc'} and losses['loss'].requires_grad
    losses['loss'].backward()
    model.eval()
    logits = model(inputs, mode='tensor')
    assert logits.shape == (3, 5)
    out = model(inputs, samples, mode='predict')
    assert len(out) == 3
    for s, row in zip(out, torch.softmax(logits, -1)):
        assert torch.allclose(s.pred_score, row, atol=1e-6)
        assert s.pred_label.item() == row.argmax().item()
    with pytest.raises(ValueError, match='unknown mode'):
        model(inputs, samples, mode='losses')


def test_voting_is_seeded_and_changes_scores():
    inputs, _ = _batch()
    plain = _model().predict_scores(inputs)
    voted_a = _model(voting=4, vote_scale=(0.5, 1.5), vote_seed=3).predict_scores(inputs)
    voted_b = _model(voting=4, vote_scale=(0.5, 1.5), vote_seed=3).predict_scores(inputs)
    voted_c = _model(voting=4, vote_scale=(0.5, 1.5), vote_seed=4).predict_scores(inputs)
    assert torch.equal(voted_a, voted_b)
    assert not torch.allclose(voted_a, plain)
    assert not torch.allclose(voted_a, voted_c)
    assert torch.allclose(voted_a.sum(-1), torch.ones(3), atol=1e-5)


def test_voting_averages_the_unscaled_and_scaled_passes():
    model = _model(voting=2, vote_scale=(0.8, 1.2), vote_seed=7)
    inputs, _ = _batch()
    gen = torch.Generator().manual_seed(7)
    scales = 0.8 + 0.4 * torch.rand(3, 3, generator=gen)
    with torch.no_grad():
        p0 = torch.softmax(model(inputs, mode='tensor'), -1)
        p1 = torch.softmax(model(scale_for_vote(inputs, scales), mode='tensor'), -1)
    assert torch.allclose(model.predict_scores(inputs), (p0 + p1) / 2, atol=1e-6)


def test_logit_averaging_option():
    model = _model(voting=2, vote_scale=(0.8, 1.2), vote_seed=7, vote_average='logits')
    inputs, _ = _batch()
    gen = torch.Generator().manual_seed(7)
    scales = 0.8 + 0.4 * torch.rand(3, 3, generator=gen)
    with torch.no_grad():
        l0 = model(inputs, mode='tensor')
        l1 = model(scale_for_vote(inputs, scales), mode='tensor')
    assert torch.allclose(model.predict_scores(inputs), torch.softmax((l0 + l1) / 2, -1),
                          atol=1e-6)
    with pytest.raises(ValueError, match='vote_average'):
        _model(voting=2, vote_average='mean').predict_scores(inputs)


def test_scale_for_vote_keeps_feats_consistent_with_points():
    inputs, _ = _batch()
    scales = torch.tensor([[1.1, 0.9, 1.2], [1.0, 1.0, 0.5], [2.0, 1.0, 1.0]])
    out = scale_for_vote(inputs, scales)
    assert torch.allclose(out['feat'][..., :3], out['coord'])
    height = out['coord'][..., 2] - out['coord'][..., 2].amin(1, keepdim=True)
    assert torch.allclose(out['feat'][..., 3], height, atol=1e-6)
    with pytest.raises(ValueError, match='vote_feat_axes'):
        scale_for_vote(inputs, scales, feat_axes=(0, 1, 2))


def test_pointmlp_classifier_parameter_count():
    model = PointClassifier(backbone=dict(type='PointMLP'),
                            head=dict(type='ClsHead', num_classes=15))
    assert model.head.in_channels == 1024
    n = sum(p.numel() for p in model.parameters())
    assert abs(n - 13_231_375) <= 0.01 * 13_231_375, n


TINY_BACKBONES = {
    'pointnet2': (dict(type='PointNet2', in_channels=4, num_points=(32, 16, None),
                       num_samples=(8, 8, None)),
                  dict(num_points=(32, 16, 8), radii=(0.2, 0.4, 0.4), num_samples=(8, 8, 8))),
    'dgcnn': (dict(type='DGCNN', in_channels=4, k=4, channels=(8, 8, 8, 8), embed_dims=16),
              dict(num_centers=12)),
    'transformer': (dict(type='StandardPointTransformer', num_groups=8, group_size=8,
                         encoder_dims=16, embed_dims=12, depth=1, num_heads=2),
                    dict()),
}


@pytest.mark.parametrize('name', sorted(TINY_BACKBONES))
def test_tap_pretraining_runs_and_transfers_into_the_classifier(name, tmp_path):
    """The backbone pre-trains with the TAP head and every key loads into the classifier."""
    from tap3d.registry import MODELS
    from tap3d.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cls_backbone, tap_overrides = TINY_BACKBONES[name]
    torch.manual_seed(0)
    pretrainer = MODELS.build(dict(
        type='TAPPretrainer', backbone=dict(cls_backbone, **tap_overrides),
        head=dict(type='TAPHead', embed_dims=16, depth=1, num_heads=2, head_dims=8,
                  img_size=64, obj_size=56, downsample=32)))
    inputs, _ = _batch(B=2, N=64)
    inputs['views'] = torch.rand(2, 2, 3, 64, 64)
    inputs['view_rotations'] = torch.eye(3).expand(2, 2, 3, 3).clone()
    losses = pretrainer(inputs, mode='loss')
    losses['loss_view'].backward()
    grads = [p.grad for p in pretrainer.backbone.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    ckpt = str(tmp_path / 'tap.pth')
    torch.save({'state_dict': pretrainer.state_dict()}, ckpt)
    model = PointClassifier(
        backbone=dict(cls_backbone, init_cfg=dict(type='CheckedPretrained', checkpoint=ckpt,
                                                  prefix='backbone.')),
        head=dict(type='ClsHead', num_classes=5))
    model.init_weights()
    for key, value in pretrainer.backbone.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[key], value), key


@pytest.mark.parametrize('cumulative', [False, True])
def test_voting_scales_compound_when_cumulative(cumulative):
    """PointMLP's voting script scales the batch in place: the scales compound."""
    model = _model(voting=3, vote_scale=(0.5, 1.5), vote_seed=5, vote_cumulative=cumulative)
    inputs, _ = _batch()
    seen = []
    forward = model.backbone.forward

    def record(inp):
        seen.append(inp['coord'].clone())
        return forward(inp)

    model.backbone.forward = record
    model.predict_scores(inputs)
    gen = torch.Generator().manual_seed(5)
    s1 = 0.5 + torch.rand(3, 3, generator=gen)
    s2 = 0.5 + torch.rand(3, 3, generator=gen)
    second = s1 * s2 if cumulative else s2
    torch.testing.assert_close(seen[0], inputs['coord'])
    torch.testing.assert_close(seen[1], inputs['coord'] * s1.unsqueeze(1))
    torch.testing.assert_close(seen[2], inputs['coord'] * second.unsqueeze(1))
