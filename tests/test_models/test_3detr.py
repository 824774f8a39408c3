"""3DETR encoder, head, criterion and detector on tiny inputs."""
import pytest
import torch
from mmengine.structures import BaseDataElement

from tap3d.models.backbones.three_detr_encoder import ThreeDETREncoder, ThreeDETREncoderLayer
from tap3d.models.heads.three_detr_head import FourierPositionEmbedding3D, ThreeDETRHead
from tap3d.models.losses.set_criterion import HungarianMatcher3D, SetCriterion3D
from tap3d.registry import MODELS
from tap3d.testing import count_parameters as _count


def _tiny_detector(encoder_type='masked', **head_kw):
    head = dict(type='ThreeDETRHead', num_classes=4, num_queries=12, num_layers=2,
                loss=dict(type='SetCriterion3D', num_classes=4))
    head.update(head_kw)
    return MODELS.build(dict(
        type='ThreeDETR',
        backbone=dict(type='ThreeDETREncoder', encoder_type=encoder_type, num_points=32,
                      num_samples=8),
        head=head))


def _scene(b=2, n=160, seed=0):
    g = torch.Generator().manual_seed(seed)
    pts = torch.rand(b, n, 3, generator=g) * torch.tensor([4.0, 3.0, 2.0])
    samples = [BaseDataElement(gt_bboxes_3d=torch.tensor([[1., 1, 0.5, .8, .6, 1.],
                                                          [3, 2, 1, .5, .5, .5]]),
                               gt_labels_3d=torch.tensor([1, 3])) for _ in range(b)]
    samples[-1] = BaseDataElement(gt_bboxes_3d=torch.zeros(0, 6),
                                  gt_labels_3d=torch.zeros(0, dtype=torch.long))
    return pts, samples


@pytest.mark.parametrize('encoder_type,proj_layers,expected', [('masked', 1, 7_438_555),
                                                              ('vanilla', 2, 7_305_691)])
def test_parameter_counts_match_the_authors(encoder_type, proj_layers, expected):
    model = MODELS.build(dict(
        type='ThreeDETR', backbone=dict(type='ThreeDETREncoder', encoder_type=encoder_type),
        head=dict(type='ThreeDETRHead', proj_hidden_layers=proj_layers, with_angle_head=True,
                  num_angle_bins=1)))
    assert abs(_count(model) - expected) <= 0.01 * expected
    assert _count(model) == expected  # in fact exact
    if encoder_type == 'masked':
        assert _count(model.backbone) == 1_231_296
    # The ScanNet configuration drops the two (unused) angle heads.
    no_angle = ThreeDETRHead(proj_hidden_layers=proj_layers)
    assert _count(model.head) - _count(no_angle) == 2 * (2 * (256 * 256 + 512) + 257)


def test_encoder_contract_and_interim_downsampling():
    enc = ThreeDETREncoder(num_points=64, num_samples=8)
    out = enc(dict(coord=torch.rand(2, 200, 3)))
    assert out['coords'].shape == (2, 32, 3) and out['feats'].shape == (2, 32, 256)
    assert enc.out_channels == 256
    # The returned coordinates are input points, located by 'indices'.
    pts = torch.rand(2, 200, 3)
    out = enc(dict(coord=pts))
    assert torch.equal(torch.gather(pts, 1, out['indices'][..., None].expand(-1, -1, 3)),
                       out['coords'])
    # Default scene preset: 2048 pre-encoder points, 1024 after the interim SA.
    default = ThreeDETREncoder()
    assert default.pre_encoder.num_points == 2048 and default.interim.num_points == 1024
    plain = ThreeDETREncoder(encoder_type='vanilla', num_points=64, num_samples=8)
    assert plain(dict(coord=torch.rand(1, 100, 3)))['coords'].shape == (1, 64, 3)


def test_masking_radius_reproduces_squared_radii():
    enc = ThreeDETREncoder(num_points=8, num_samples=4)
    assert enc.masking_radius == pytest.approx([0.16, 0.64, 1.44])
    xyz = torch.tensor([[[0., 0, 0], [0.3, 0, 0]]])
    mask0, dist = enc._radius_mask(xyz, enc.masking_radius[0], None)
    mask1, _ = enc._radius_mask(xyz, enc.masking_radius[1], dist)
    assert mask0.shape == (4, 2, 2)  # tiled over the 4 heads
    assert bool(mask0[0, 0, 1]) and not bool(mask1[0, 0, 1])  # 0.3 m: out at 0.16, in at 0.64
    paper = ThreeDETREncoder(num_points=8, num_samples=4, square_masking_radius=False)
    assert paper.masking_radius == pytest.approx([0.4, 0.8, 1.2])


def test_masked_layer_ignores_points_outside_the_radius():
    layer = ThreeDETREncoderLayer(embed_dims=16, num_heads=4, ffn_dims=8, dropout=0.0).eval()
    x = torch.randn(1, 3, 16)
    mask = torch.tensor([[False, False, True], [False, False, True], [True, True, False]])
    mask = mask[None].expand(4, 3, 3)
    y1 = layer(x, mask)
    x2 = x.clone()
    x2[0, 2] += 5.0  # token 2 lies outside tokens 0 and 1's radius
    y2 = layer(x2, mask)
    assert torch.allclose(y1[0, :2], y2[0, :2], atol=1e-6)
    assert not torch.allclose(y1[0, 2], y2[0, 2])


def test_offset_inputs_and_feature_channels():
    enc = ThreeDETREncoder(num_points=32, num_samples=8, in_channels=3)
    coord, feat = torch.rand(200, 3), torch.rand(200, 3)
    out = enc(dict(coord=coord, feat=feat, offset=torch.tensor([100, 200])))
    assert out['feats'].shape == (2, 16, 256)
    with pytest.raises(ValueError, match='same number of points'):
        enc(dict(coord=coord, feat=feat, offset=torch.tensor([90, 200])))
    with pytest.raises(ValueError, match='feature channels'):
        enc(dict(coord=torch.rand(1, 100, 3)))


def test_fourier_embedding_uses_scene_bounds():
    pe = FourierPositionEmbedding3D(d_pos=32)
    xyz = torch.rand(2, 10, 3)
    lo, hi = torch.zeros(2, 3), torch.ones(2, 3)
    e = pe(xyz, lo, hi)
    assert e.shape == (2, 10, 32) and e.abs().max() <= 1
    # Scaling the scene and its bounds together leaves the embedding unchanged.
    assert torch.allclose(pe(xyz * 3 + 1, lo * 3 + 1, hi * 3 + 1), e, atol=1e-5)
    assert 'gauss_B' in pe.state_dict()


def test_matcher_recovers_a_permutation_and_zero_losses():
    crit = SetCriterion3D(num_classes=3, loss_cls_weight=0.0)
    gt = torch.tensor([[0., 0, 0, 1, 1, 1], [2, 2, 0, .5, .5, .5], [4, 0, 1, 1, 2, 1]])
    labels = torch.tensor([0, 2, 1])
    perm = torch.tensor([2, 0, 1])  # query i predicts gt perm[i]
    pred = torch.cat([gt[perm], torch.tensor([[1., 3, 0, .2, .2, .2]])])
    lo, hi = torch.tensor([[-1., -1, -1]]), torch.tensor([[5., 4, 2]])
    logits = torch.full((1, 4, 4), -5.0)
    logits[0, torch.arange(3), labels[perm]] = 5.0
    logits[0, 3, 3] = 5.0
    out = dict(cls_logits=logits, bboxes=pred[None],
               center_normalized=(pred[None, :, :3] - lo[:, None]) / (hi - lo)[:, None],
               size_normalized=pred[None, :, 3:] / (hi - lo)[:, None])
    cls_prob = logits.softmax(-1)
    from tap3d.geometry.boxes import axis_aligned_giou_3d
    q, g = HungarianMatcher3D()(cls_prob, [axis_aligned_giou_3d(pred, gt)],
                                [torch.zeros(4, 3)], [labels])[0]
    assert dict(zip(q.tolist(), g.tolist())) == {0: 2, 1: 0, 2: 1}
    losses = crit(out, [gt], [labels], lo, hi)
    assert set(losses) == {'loss_giou', 'loss_center', 'loss_size'}
    for v in losses.values():
        assert float(v) == pytest.approx(0.0, abs=1e-5)
    # A wrong size is charged by both the size and the GIoU loss.
    out['size_normalized'] = out['size_normalized'] * 1.5
    out['bboxes'] = torch.cat([pred[None, :, :3], pred[None, :, 3:] * 1.5], -1)
    losses = crit(out, [gt], [labels], lo, hi)
    assert losses['loss_size'] > 0 and losses['loss_giou'] > 0


def test_no_object_class_weight():
    crit = SetCriterion3D(num_classes=2)
    assert crit.cls_weight.tolist() == [1.0, 1.0, 0.25]
    with pytest.raises(ValueError, match='labels must lie'):
        out = dict(cls_logits=torch.zeros(1, 2, 3), bboxes=torch.rand(1, 2, 6),
                   center_normalized=torch.rand(1, 2, 3), size_normalized=torch.rand(1, 2, 3))
        crit(out, [torch.rand(1, 6)], [torch.tensor([2])], torch.zeros(1, 3), torch.ones(1, 3))


def test_detector_modes_loss_predict_tensor():
    torch.manual_seed(0)
    model = _tiny_detector()
    pts, samples = _scene()
    outs = model(dict(coord=pts), mode='tensor')
    assert len(outs) == 2 and outs[-1]['cls_logits'].shape == (2, 12, 5)
    assert outs[-1]['bboxes'].shape == (2, 12, 6)
    losses = model(dict(coord=pts), samples, mode='loss')
    # Final layer + one auxiliary layer, each with 4 terms.
    assert {'loss_giou', 'loss_cls', 'loss_center', 'loss_size', 'd0.loss_giou'} <= set(losses)
    assert len(losses) == 8
    sum(losses.values()).backward()
    assert model.backbone.pre_encoder.mlp[0].weight.grad.abs().sum() > 0
    model.eval()
    res = model(dict(coord=pts), samples, mode='predict')
    k = res[0].pred_bboxes_3d.shape[0]
    # Per-class proposals: every kept box is reported once per class.
    assert k % 4 == 0 and res[0].pred_scores_3d.shape == (k,)
    assert res[0].pred_labels_3d.shape == (k,)
    with pytest.raises(ValueError, match='mode'):
        model(dict(coord=pts), samples, mode='bogus')
    # Mixed precision: matching and losses still run in float32.
    model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(dict(coord=pts), samples, mode='loss')
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in losses.values())


def test_predict_applies_class_aware_nms():
    head = ThreeDETRHead(num_classes=2, num_queries=4, num_layers=1)
    head.test_cfg.update(remove_empty_box=False, per_class_proposal=False, score_thr=0.05)
    boxes = torch.tensor([[[0., 0, 0, 1, 1, 1], [0.05, 0, 0, 1, 1, 1], [0.05, 0, 0, 1, 1, 1],
                           [3, 3, 3, 1, 1, 1]]])
    logits = torch.tensor([[[4., 0, 0], [3, 0, 0], [0, 3, 0], [0, 0, 4]]])
    res = head.predict([dict(cls_logits=logits, bboxes=boxes)], torch.rand(1, 10, 3))[0]
    # Query 1 is suppressed by query 0 (same class); query 2 (other class) stays;
    # query 3 is "no object" and falls under the score threshold.
    assert sorted(res['labels_3d'].tolist()) == [0, 1]
    assert res['bboxes_3d'].shape == (2, 6)


def test_layers_are_pre_norm_like_torch_reference():
    """3DETR's layers are pre-norm: with equal weights (and zero positional
    embeddings for the decoder) they equal PyTorch's norm_first layers."""
    from torch import nn

    from tap3d.models.heads.three_detr_head import ThreeDETRDecoderLayer
    torch.manual_seed(0)
    enc = ThreeDETREncoderLayer(32, 4, 16, dropout=0.0).eval()
    ref = nn.TransformerEncoderLayer(32, 4, 16, dropout=0.0, batch_first=True,
                                     norm_first=True).eval()
    ref.load_state_dict(enc.state_dict())
    x = torch.randn(2, 7, 32)
    assert torch.allclose(enc(x), ref(x), atol=1e-5)

    dec = ThreeDETRDecoderLayer(32, 4, 24, dropout=0.0).eval()
    ref = nn.TransformerDecoderLayer(32, 4, 24, dropout=0.0, batch_first=True,
                                     norm_first=True).eval()
    ref.load_state_dict({k.replace('cross_attn', 'multihead_attn'): v
                         for k, v in dec.state_dict().items()})
    tgt, mem = torch.randn(2, 5, 32), torch.randn(2, 9, 32)
    zq, zm = torch.zeros_like(tgt), torch.zeros_like(mem)
    assert torch.allclose(dec(tgt, mem, zq, zm), ref(tgt, mem), atol=1e-5)
    # Positional embeddings enter queries and keys only.
    assert not torch.allclose(dec(tgt, mem, torch.randn_like(tgt), zm), ref(tgt, mem))
