"""PointMLP part segmentation: size, forward modes, category masking, voting, TAP transfer."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from tap3d.models.heads.partseg_head import PointMLPFeaturePropagation
from tap3d.models.segmentors.part_segmentor import scale_partseg_inputs
from tap3d.registry import MODELS
from tap3d.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
register_all_modules()

# the CPU-sized model of the synthetic config (embed 16, 1 block per stage)
SMALL_BACKBONE = dict(type='PointMLP', in_channels=6, embed_dim=16, pre_blocks=(1, 1, 1, 1),
                      pos_blocks=(1, 1, 1, 1), k_neighbors=(8, 8, 8, 8))
SMALL_HEAD = dict(type='PointMLPPartSegHead', decoder_channels=(32, 16, 16, 16),
                  decoder_blocks=(1, 1, 1, 1), gmp_dim=8, cls_dim=8, hidden_channels=16)


def small_model(**kwargs):
    cfg = dict(type='PartSegmentor', backbone=dict(SMALL_BACKBONE), head=dict(SMALL_HEAD))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def batch(b=2, n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    pts = torch.rand(b, n, 3, generator=g) * 2 - 1
    nrm = torch.nn.functional.normalize(torch.randn(b, n, 3, generator=g), dim=-1)
    inputs = dict(coord=pts, feat=torch.cat([pts, nrm], -1))
    samples = []
    for i, cat in enumerate([11, 0, 5, 15][:b]):  # mug, airplane, earphone, table
        s = BaseDataElement()
        s.gt_label = torch.tensor([cat])
        s.gt_part_labels = torch.randint(0, 50, (n, ), generator=g)
        samples.append(s)
    return inputs, samples


def test_tap_configuration_size_matches_the_authors_model():
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/models/pointmlp_partseg.py'))
    model = MODELS.build(cfg.model)
    n = sum(p.numel() for p in model.parameters())
    assert abs(n - 16_722_560) <= 0.01 * 16_722_560, n
    # the encoder is the classification PointMLP: same class and the same keys
    cls_backbone = MODELS.build(dict(type='PointMLP', in_channels=4))
    assert type(model.backbone) is type(cls_backbone)
    assert model.backbone.state_dict().keys() == cls_backbone.state_dict().keys()


def test_forward_modes_and_category_masking():
    torch.manual_seed(0)
    model = small_model()
    inputs, samples = batch()
    losses = model(inputs, samples, mode='loss')
    assert losses['loss_part_seg'].ndim == 0 and torch.isfinite(losses['loss_part_seg'])
    losses['loss_part_seg'].backward()
    assert model.head.cls_map[0].net[0].weight.grad.abs().sum() > 0
    model.eval()
    logits = model(inputs, samples, mode='tensor')
    assert logits.shape == (2, 64, 50)
    # an untrained model's raw argmax wanders over all 50 parts ...
    assert not ((logits.argmax(-1) >= 36) & (logits.argmax(-1) <= 37))[0].all()
    out = model(inputs, samples, mode='predict')
    # ... but predictions stay inside the category: mug 36-37, airplane 0-3
    assert set(out[0].pred_part_labels.tolist()) <= {36, 37}
    assert set(out[1].pred_part_labels.tolist()) <= {0, 1, 2, 3}
    assert out[0].pred_part_labels.shape == (64, )
    # the category may also come in the inputs, and it changes the logits
    other = model(dict(inputs, category=torch.tensor([3, 3])), None, mode='tensor')
    assert not torch.allclose(other, logits)
    with pytest.raises(ValueError, match='unknown mode'):
        model(inputs, samples, mode='logits')
    with pytest.raises(ValueError, match='category'):
        model(inputs, None, mode='tensor')


def test_voting_averages_scaled_passes():
    torch.manual_seed(0)
    model = small_model(test_cfg=dict(voting=1)).eval()
    inputs, samples = batch()
    cat = model.get_category(inputs, samples)
    single = model.predict_logits(inputs, cat)
    model.test_cfg.update(voting=3, vote_seed=1)
    voted = model.predict_logits(inputs, cat)
    assert voted.shape == single.shape
    finite = torch.isfinite(single)
    assert torch.equal(finite, torch.isfinite(voted))  # the same parts are masked
    assert not torch.allclose(voted[finite], single[finite])
    # reproducible with a fixed seed
    torch.testing.assert_close(model.predict_logits(inputs, cat), voted)


def _expected_scales(b, votes, seed, low, high, cumulative):
    gen = torch.Generator().manual_seed(seed)
    total, out = torch.ones(b, 3), [torch.ones(b, 3)]
    for _ in range(votes - 1):
        s = low + (high - low) * torch.rand(b, 3, generator=gen)
        total = total * s if cumulative else s
        out.append(total)
    return out


@pytest.mark.parametrize('cumulative,scale_feat', [(False, True), (True, False)])
def test_voting_passes_follow_the_test_cfg(cumulative, scale_feat):
    """The TAP authors' voting: scales compound, features stay as built."""
    model = small_model(test_cfg=dict(voting=4, vote_seed=2, vote_scale=(0.8, 1.2),
                                      vote_cumulative=cumulative,
                                      vote_scale_feat=scale_feat)).eval()
    inputs, samples = batch()
    seen = []

    def record(inp, category):
        seen.append((inp['coord'].clone(), inp['feat'].clone()))
        return torch.zeros(*inp['coord'].shape[:2], 50)

    model._logits = record
    model.predict_logits(inputs, model.get_category(inputs, samples))
    expected = _expected_scales(2, 4, 2, 0.8, 1.2, cumulative)
    assert len(seen) == 4
    for (coord, feat), scale in zip(seen, expected):
        torch.testing.assert_close(coord, inputs['coord'] * scale.unsqueeze(1))
        if scale_feat:
            torch.testing.assert_close(feat[..., :3], coord)
        else:
            torch.testing.assert_close(feat, inputs['feat'])


def test_vote_scaling_keeps_features_consistent():
    inputs, _ = batch(b=1, n=5)
    scales = torch.tensor([[2.0, 1.0, 0.5]])
    out = scale_partseg_inputs(inputs, scales, ('coord', 'normal'))
    torch.testing.assert_close(out['coord'], inputs['coord'] * scales)
    torch.testing.assert_close(out['feat'][..., :3], out['coord'])
    nrm = out['feat'][..., 3:]
    torch.testing.assert_close(nrm.norm(dim=-1), torch.ones(1, 5))
    # a normal transforms by the inverse scale: it stays orthogonal to scaled tangents
    expect = torch.nn.functional.normalize(inputs['feat'][..., 3:] / scales, dim=-1)
    torch.testing.assert_close(nrm, expect)
    with pytest.raises(ValueError, match='vote_feat_layout'):
        scale_partseg_inputs(inputs, scales, ('xyz', ))


def test_feature_propagation_copies_features_at_coarse_points():
    fp = PointMLPFeaturePropagation(4 + 2, 8)
    fine = torch.rand(1, 10, 3)
    coarse = fine[:, :4]
    coarse_feats = torch.randn(1, 4, 2)
    captured = {}

    def grab(module, args, output):
        captured['x'] = args[0]

    fp.fuse.register_forward_hook(grab)
    fp(fine, coarse, torch.zeros(1, 10, 4), coarse_feats)
    up = captured['x'][..., 4:]  # the skip comes first, the interpolation after it
    torch.testing.assert_close(up[:, :4], coarse_feats, atol=1e-5, rtol=0)


def _tap_checkpoint(tmp_path, in_channels):
    """A real TAPPretrainer (small PointMLP + small TAP head) saved like a runner does."""
    torch.manual_seed(1)
    backbone = dict(SMALL_BACKBONE, in_channels=in_channels)
    pre = MODELS.build(dict(type='TAPPretrainer', backbone=backbone,
                            head=dict(type='TAPHead', embed_dims=16, depth=1, num_heads=2,
                                      head_dims=8, img_size=56, obj_size=50, downsample=8)))
    for v in pre.state_dict().values():  # make every tensor differ from a fresh init
        v.add_(0.5) if v.is_floating_point() else None
    path = str(tmp_path / f'tap_{in_channels}.pth')
    torch.save(dict(state_dict=pre.state_dict(), meta=dict()), path)
    return path, pre.state_dict()


def test_tap_backbone_transfers_every_encoder_key(tmp_path):
    # TAP pre-trains on xyz + height (4 channels); part segmentation reads
    # xyz + normals (6): only the first embedding layer stays fresh
    path, ckpt = _tap_checkpoint(tmp_path, in_channels=4)
    skip = 'embedding.net.0.weight'
    model = small_model(backbone=dict(SMALL_BACKBONE, init_cfg=dict(
        type='PretrainedSkipKeys', checkpoint=path, prefix='backbone.', skip_keys=(skip, ))))
    fresh = model.backbone.state_dict()[skip].clone()
    model.init_weights()
    state = model.backbone.state_dict()
    report = model.backbone.pretrained_report
    assert sorted(report['matched']) == sorted(k for k in state if k != skip)
    for key in report['matched']:
        torch.testing.assert_close(state[key], ckpt['backbone.' + key], msg=key)
    assert torch.equal(state[skip], fresh) and state[skip].shape[1] == 6
    # the checked plain initialiser refuses the 4 -> 6 channel mismatch outright
    strict = small_model(backbone=dict(SMALL_BACKBONE, init_cfg=dict(
        type='CheckedPretrained', checkpoint=path, prefix='backbone.')))
    with pytest.raises(RuntimeError, match='embedding.net.0.weight'):
        strict.init_weights()


def test_same_width_checkpoint_transfers_with_plain_pretrained(tmp_path):
    path, ckpt = _tap_checkpoint(tmp_path, in_channels=6)
    model = small_model(backbone=dict(SMALL_BACKBONE, init_cfg=dict(
        type='CheckedPretrained', checkpoint=path, prefix='backbone.')))
    model.init_weights()
    state = model.backbone.state_dict()
    assert len(model.backbone.pretrained_report['matched']) == len(state)
    for key, value in state.items():
        torch.testing.assert_close(value, ckpt['backbone.' + key], msg=key)


def test_skip_keys_must_exist(tmp_path):
    path, _ = _tap_checkpoint(tmp_path, in_channels=4)
    model = small_model(backbone=dict(SMALL_BACKBONE, init_cfg=dict(
        type='PretrainedSkipKeys', checkpoint=path, prefix='backbone.',
        skip_keys=('embeding.net.0.weight', ))))
    with pytest.raises(KeyError, match='embeding'):
        model.init_weights()


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_runs_on_cuda():
    model = small_model(test_cfg=dict(voting=2)).cuda().eval()
    inputs, samples = batch()
    inputs = {k: v.cuda() for k, v in inputs.items()}
    out = model(inputs, samples, mode='predict')
    assert out[0].pred_part_labels.is_cuda


def _cfg(path):
    return Config.fromfile(osp.join(REPO, path))


@pytest.mark.parametrize('tap_config, partseg_config', [
    ('configs/tap/pointmlp_shapenet.py',
     'configs/pointmlp/pointmlp-partseg_tap-shapenet55-pre_1xb16-adamw-step-300e_shapenetpart.py'),
    ('configs/tap/synthetic/tap_pointmlp_synthetic-cpu.py',
     'configs/pointmlp/synthetic/pointmlp-partseg_tap-synthetic-pre_1xb8-2e_synthetic-shapenetpart.py'),
])
def test_fine_tune_configs_fit_their_pre_training(tap_config, partseg_config):
    """Every encoder tensor of the fine-tune model has the pre-trained name and shape."""
    tap = MODELS.build(_cfg(tap_config).model.backbone).state_dict()
    cfg = _cfg(partseg_config).model
    init = cfg.backbone.pop('init_cfg')
    assert init['type'] == 'PretrainedSkipKeys' and init['prefix'] == 'backbone.'
    seg = MODELS.build(cfg.backbone).state_dict()
    assert seg.keys() == tap.keys()
    differ = [k for k in seg if seg[k].shape != tap[k].shape]
    assert differ == list(init['skip_keys']) == ['embedding.net.0.weight']


def test_refinement_relabels_tiny_parts_by_their_neighbours():
    from tap3d.models.segmentors.part_segmentor import refine_parts
    # mug (36, 37): two clusters of 12 points; 2 points inside the first cluster
    # are predicted 37 and must become 36, the clusters themselves stay
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(12, 3, generator=g) * 0.1, torch.rand(12, 3, generator=g) * 0.1 + 5
    points = torch.cat([a, b])
    labels = torch.tensor([36] * 12 + [37] * 12)
    noisy = labels.clone()
    noisy[[3, 7]] = 37  # part 37 still has 14 points: not tiny
    noisy[20] = 36      # part 36 has 11: not tiny either
    assert torch.equal(refine_parts(points, noisy, torch.arange(50) // 2 == 18, n=10), noisy)
    tiny = torch.full((24, ), 36)
    tiny[[3, 7]] = 37  # part 37 has 2 points < 10: relabelled from neighbours
    allowed = (torch.arange(50) >= 36) & (torch.arange(50) <= 37)
    assert torch.equal(refine_parts(points, tiny, allowed, n=10), torch.full((24, ), 36))
    # the model's predict applies it to each shape's argmax when test_cfg.refine > 0
    torch.manual_seed(0)
    model = small_model().eval()
    inputs, samples = batch()
    plain = [s.pred_part_labels.clone() for s in model(inputs, samples, mode='predict')]
    model.test_cfg['refine'] = 30
    refined = model(inputs, samples, mode='predict')
    for i, s in enumerate(refined):
        expect = refine_parts(inputs['coord'][i], plain[i],
                              model.category_parts[samples[i].gt_label[0]], 30)
        assert torch.equal(s.pred_part_labels, expect)
    assert any(not torch.equal(a, b.pred_part_labels) for a, b in zip(plain, refined))
