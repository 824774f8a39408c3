"""The checkpoint converters of tools/model_converters/ on the real upstream layouts.

Each upstream layout is a JSON of key -> shape under tests/data/model_converters/
(its "how" entry says how it was listed: by building the upstream model from the
upstream code and printing its state dict). A test writes a checkpoint with that
layout, random values and the upstream file's other entries (optimizer, epoch,
an ``argparse.Namespace``), converts it, loads the result strictly into the tap3d
model of the converter's config and runs a forward pass.

What gives evidence that the mapping is right, not only complete:

- every converted tensor equals the upstream tensor it came from (values are
  moved, never changed, except the documented 1x1-conv squeeze);
- PointMLP: the upstream keys already are tap3d's, so the converted model must
  equal a tap3d model that loads the upstream state dict directly;
- the standard Transformer (TAP, Point-BERT, Point-MAE): the upstream forward
  pass is restated below from the upstream code with the upstream key names
  (:func:`upstream_transformer`), and its output must equal the converted tap3d
  model's. A swapped or misplaced tensor changes the result.

The remaining families (PointNet++, DGCNN, 3DETR, PTv2, the TAP head) were checked
against the upstream modules themselves run on CPU; docs/model_conversion.md
records those comparisons. Here they are checked for a complete, strict load and
a forward pass.
"""
import argparse
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MMLogger

from tap3d.registry import MODELS
from tap3d.utils import register_all_modules
from tap3d.utils.errors import run_tool
from tap3d.utils.pretrained import load_pretrained

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(ROOT, 'tests', 'data', 'model_converters')
TOOLS = osp.join(ROOT, 'tools', 'model_converters')


def _load(name):
    spec = importlib.util.spec_from_file_location(f'converter_{name}', osp.join(TOOLS,
                                                                                f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tap, threedetr, ptv2, point_bert, point_mae = (
    _load(n) for n in ('tap', 'threedetr', 'pointcept_ptv2', 'point_bert', 'point_mae'))
common = sys.modules['_common']
register_all_modules()


@pytest.fixture(autouse=True)
def _log_to_this_test(request):
    """A fresh 'current' mmengine logger per test: one created in an earlier test
    would write to that test's closed capture stream."""
    MMLogger.get_instance(f'model_converters.{request.node.name}')


class TrainingConfig:
    """A user class pickled next to the weights, like openpoints' EasyDict: the
    converters must read the file without importing or running it."""

    def __setstate__(self, state):
        raise AssertionError('the converter ran code from the checkpoint')


def layout(family, name):
    with open(osp.join(DATA, f'{family}.json')) as f:
        return json.load(f)['layouts'][name]


def fake_tensor(key, shape, gen, real=True):
    """Random values of a realistic scale (norm layers near identity); ``real=False``
    gives a zero-stride tensor (tiny on disk) for tensors a converter drops."""
    if not real:
        return torch.zeros(()).expand(shape)
    if key.endswith('num_batches_tracked'):
        return torch.tensor(7)
    r = torch.randn(shape, generator=gen)
    if key.endswith('running_var'):
        return 1 + 0.2 * torch.rand(shape, generator=gen)
    if len(shape) == 1 and key.endswith('weight'):
        return 1 + 0.1 * r
    if len(shape) <= 1 or 'affine_beta' in key:
        return 0.1 * r
    fan_in = int(np.prod(shape[1:])) or 1
    return r / fan_in ** 0.5


def write_upstream(path, shapes, entry='model', prefix='', keep=lambda k: True, extra=None):
    """An upstream-style checkpoint: ``{entry: {prefix + key: tensor}, ...training state}``.

    Returns:
        The state dict as written (without the prefix).
    """
    gen = torch.Generator().manual_seed(0)
    sd = {k: fake_tensor(k, v, gen, keep(k)) for k, v in shapes.items()}
    ckpt = {entry: {prefix + k: v for k, v in sd.items()}, 'epoch': 100,
            'optimizer': {'state': {}, 'param_groups': [{'lr': 1e-3}]},
            'args': argparse.Namespace(lr=1e-3, dims=[64, 128]),
            'best_val': np.float64(88.5), 'cfg': TrainingConfig()}
    ckpt.update(extra or {})
    torch.save(ckpt, path)
    return sd


def build(result):
    """The tap3d model of a converter result's config (with its options), eval mode."""
    cfg = Config.fromfile(result['config'])
    cfg.merge_from_dict(result['cfg_options'])
    return MODELS.build(cfg.model).eval()


def check_output_file(out, result, source):
    """Plain tensors + plain meta, loadable with weights_only=True and no allow-list;
    every tensor equals the upstream tensor it came from."""
    saved = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        assert torch.serialization.get_unsafe_globals_in_checkpoint(out) == []
        ckpt = torch.load(out, weights_only=True)
    finally:
        torch.serialization.add_safe_globals(saved)
    assert set(ckpt) == {'state_dict', 'meta'}
    conversion = result['conversion']
    for key, value in ckpt['state_dict'].items():
        src = source[conversion.source_of[key]]
        assert torch.equal(value, src.reshape(value.shape).to(value.dtype)), key
    assert ckpt['meta']['dropped'] == conversion.dropped
    return ckpt['state_dict']


def convert(module, argv, capsys=None):
    result = module.main([str(a) for a in argv])
    if capsys is not None:
        out = capsys.readouterr().out.strip().splitlines()
        assert out[-2] == result['conversion'].summary()
        assert out[-2].startswith('converted ') and out[-2].endswith(', unmatched 0')
    return result


def failure(module, argv, capsys):
    """Run the converter as its command line does; return its single stderr line."""
    with pytest.raises(SystemExit) as exc:
        run_tool(lambda: module.main([str(a) for a in argv]), 'converter')
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'Traceback' not in err[0], err
    return err[0]


def object_batch(n=256, channels=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    points = torch.rand(2, n, 3, generator=gen) * 2 - 1
    height = points[..., 2:] - points[..., 2:].min(1, keepdim=True)[0]
    feats = torch.cat([points, height], -1)[..., :channels]
    return dict(coord=points, feat=feats)


def upstream_transformer(sd, prefix, patches, centres, project=True, cls=None, heads=6):
    """``[cls ; max over patches]`` of the standard Transformer computed from an
    upstream state dict as the upstream code computes it (Point-BERT's
    ``PointTransformer.forward``, the TAP authors' ``PointTransformerEncoder``,
    Point-MAE's fine-tuning ``PointTransformer``), with the upstream key names.

    Args:
        sd: upstream state dict; prefix: e.g. ``'encoder.'`` or ``'transformer_q.'``.
        patches: (B, G, K, 3) offsets from the centres; centres: (B, G, 3).
        project: apply ``reduce_dim`` (Point-MAE has none).
        cls: ``(cls_token, cls_pos)`` when the state dict has none (Point-MAE).

    Returns:
        (B, 2C).
    """
    def p(k):
        return sd[prefix + k]

    def mini_pointnet(x, name):  # Sequential(Conv1d, BatchNorm1d, ReLU, Conv1d)
        x = F.conv1d(x, p(f'encoder.{name}.0.weight'), p(f'encoder.{name}.0.bias'))
        x = F.batch_norm(x, p(f'encoder.{name}.1.running_mean'),
                         p(f'encoder.{name}.1.running_var'), p(f'encoder.{name}.1.weight'),
                         p(f'encoder.{name}.1.bias'), False, 0.0, 1e-5)
        return F.conv1d(F.relu(x), p(f'encoder.{name}.3.weight'), p(f'encoder.{name}.3.bias'))

    B, G, K, _ = patches.shape
    f = mini_pointnet(patches.reshape(B * G, K, 3).transpose(1, 2), 'first_conv')
    f = torch.cat([f.max(2, keepdim=True)[0].expand(-1, -1, K), f], 1)
    tokens = mini_pointnet(f, 'second_conv').max(2)[0].view(B, G, -1)
    if project:
        tokens = F.linear(tokens, p('reduce_dim.weight'), p('reduce_dim.bias'))
    cls_token, cls_pos = cls if cls is not None else (p('cls_token'), p('cls_pos'))
    pos = F.linear(F.gelu(F.linear(centres, p('pos_embed.0.weight'), p('pos_embed.0.bias'))),
                   p('pos_embed.2.weight'), p('pos_embed.2.bias'))
    x = torch.cat([cls_token.expand(B, -1, -1), tokens], 1)
    pos = torch.cat([cls_pos.expand(B, -1, -1), pos], 1)
    C, i = x.shape[-1], 0
    while f'{prefix}blocks.blocks.{i}.norm1.weight' in sd:
        b = f'blocks.blocks.{i}.'
        x = x + pos  # TransformerEncoder: block(x + pos)
        h = F.layer_norm(x, (C, ), p(b + 'norm1.weight'), p(b + 'norm1.bias'))
        q, k, v = F.linear(h, p(b + 'attn.qkv.weight')).reshape(
            B, -1, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * (C // heads)**-0.5).softmax(-1)
        h = (attn @ v).transpose(1, 2).reshape(B, -1, C)
        x = x + F.linear(h, p(b + 'attn.proj.weight'), p(b + 'attn.proj.bias'))
        h = F.layer_norm(x, (C, ), p(b + 'norm2.weight'), p(b + 'norm2.bias'))
        h = F.gelu(F.linear(h, p(b + 'mlp.fc1.weight'), p(b + 'mlp.fc1.bias')))
        x = x + F.linear(h, p(b + 'mlp.fc2.weight'), p(b + 'mlp.fc2.bias'))
        i += 1
    x = F.layer_norm(x, (C, ), p('norm.weight'), p('norm.bias'))
    return torch.cat([x[:, 0], x[:, 1:].max(1)[0]], -1)


# ----------------------------------------------------------------------------- TAP
def test_tap_pointmlp_pretrain_with_head(tmp_path, capsys):
    """The whole pre-training model: backbone equal to a direct load of the
    upstream encoder keys; the head in the authors' layout generates views."""
    src = tmp_path / 'pointmlp_pretrain.pth'
    sd = write_upstream(src, layout('tap', 'cfgs/shapenet/pointmlp_pretrain.yaml'))
    out = tmp_path / 'tap.pth'
    result = convert(tap, [src, out], capsys)
    assert (result['kind'], result['backbone'], result['layout']) == ('pretrain', 'pointmlp',
                                                                      'full')
    conv = result['conversion']
    assert len(conv.squeezed) > 0 and list(conv.dropped) == [tap.PAD_REASON]
    state = check_output_file(out, result, sd)
    model = build(result)
    model.load_state_dict({**model.state_dict(), **state}, strict=True)
    assert {k for k in model.state_dict() if k.startswith(('backbone.', 'head.'))} == set(state)

    direct = MODELS.build(dict(type='PointMLP', in_channels=4)).eval()
    direct.load_state_dict({k[8:]: v for k, v in sd.items() if k.startswith('encoder.')},
                           strict=True)  # the keys agree; (out, in, 1) weights load as well
    inputs = object_batch()
    with torch.no_grad():
        assert torch.equal(model.backbone(inputs)['feats'], direct(inputs)['feats'])
        angle = torch.tensor(0.7)
        rot = torch.tensor([[angle.cos(), 0, angle.sin()], [0, 1, 0], [-angle.sin(), 0,
                                                                        angle.cos()]])
        views, _ = model.generate(dict(inputs, view_rotations=rot.expand(2, 1, 3, 3)))
    assert views.shape == (2, 1, 3, 224, 224) and torch.isfinite(views).all()


@pytest.mark.parametrize('backbone,name', [
    ('pointnet2', 'cfgs/shapenet/pointnet++_pretrain.yaml'),
    ('dgcnn', 'cfgs/shapenet/dgcnn_pretrain.yaml'),
])
def test_tap_pretrain_backbone_only_loads_through_init_cfg(tmp_path, capsys, backbone, name):
    src = tmp_path / 'in.pth'
    sd = write_upstream(src, layout('tap', name))
    out = tmp_path / 'tap.pth'
    result = convert(tap, [src, out, '--backbone-only', '--kind', 'pretrain'], capsys)
    assert result['backbone'] == backbone
    assert list(result['conversion'].dropped) == [tap.BACKBONE_ONLY_REASON]
    check_output_file(out, result, sd)
    # the fine-tuning classifier takes the backbone through the checked Pretrained init
    cfg = Config.fromfile(tap.repo_path(tap.DEFAULT_CONFIGS[('finetune', backbone)]))
    cfg.model.backbone.init_cfg = dict(type='CheckedPretrained', checkpoint=str(out),
                                       prefix='backbone.')
    model = MODELS.build(cfg.model)
    model.init_weights()
    report = model.backbone.pretrained_report
    assert not report['missing'] and not report['unexpected'] and report['matched']
    with torch.no_grad():
        logits = model.eval().head(model.backbone(object_batch(n=1024)))
    assert logits.shape == (2, 15) and torch.isfinite(logits).all()


def test_tap_transformer_clean_encoder_equals_the_upstream_computation(tmp_path, capsys):
    """The authors' 'clean' file (the encoder's own keys, no prefix)."""
    shapes = {k[8:]: v for k, v in layout('tap', 'cfgs/shapenet/transformer_pretrain.yaml')
              .items() if k.startswith('encoder.')}
    src = tmp_path / 'clean.pth'
    sd = write_upstream(src, shapes)
    out = tmp_path / 'tap.pth'
    result = convert(tap, [src, out], capsys)
    assert (result['kind'], result['backbone'], result['layout']) == ('pretrain',
                                                                      'transformer', 'clean')
    check_output_file(out, result, {'encoder.' + k: v for k, v in sd.items()})
    model = build(result)
    load_pretrained(model.backbone, str(out), prefix='backbone.')
    with torch.no_grad():
        points = object_batch(n=512)['coord']
        patches, centres = model.backbone.group(points)
        ref = upstream_transformer(sd, '', patches, centres)
        tokens = model.backbone({'coord': points})
    assert torch.allclose(tokens['global_feat'], ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('backbone', ['pointmlp', 'pointnet++', 'dgcnn', 'transformer'])
def test_tap_scanobjectnn_finetune_is_a_full_classifier(tmp_path, capsys, backbone):
    src = tmp_path / 'in.pth'
    sd = write_upstream(src, layout('tap', f'cfgs/scanobjectnn/{backbone}_finetune.yaml'))
    out = tmp_path / 'cls.pth'
    result = convert(tap, [src, out, '--kind', 'finetune'], capsys)
    assert result['conversion'].num_dropped == 0
    state = check_output_file(out, result, sd)
    model = build(result)
    model.load_state_dict(state, strict=True)
    inputs = object_batch(n=1024, channels=3 if backbone == 'transformer' else 4)
    with torch.no_grad():
        logits = model.head(model.backbone(inputs))
    assert logits.shape == (2, 15) and torch.isfinite(logits).all()
    if backbone == 'transformer':
        with torch.no_grad():
            patches, centres = model.backbone.group(inputs['coord'])
            ref = upstream_transformer(sd, 'encoder.', patches, centres)
            assert torch.allclose(model.backbone(inputs)['global_feat'], ref, atol=1e-5,
                                  rtol=1e-5)


def test_tap_shapenetpart_finetune_is_a_full_part_segmentor(tmp_path, capsys):
    src = tmp_path / 'in.pth'
    sd = write_upstream(src, layout('tap', 'cfgs/shapenetpart/pointmlp_finetune.yaml'))
    out = tmp_path / 'partseg.pth'
    result = convert(tap, [src, out], capsys)
    assert (result['kind'], result['backbone']) == ('finetune', 'pointmlp-partseg')
    state = check_output_file(out, result, sd)
    model = build(result)
    model.load_state_dict(state, strict=True)
    gen = torch.Generator().manual_seed(0)
    points = torch.rand(2, 512, 3, generator=gen)
    feats = torch.cat([points, F.normalize(torch.randn(2, 512, 3, generator=gen), dim=-1)], -1)
    with torch.no_grad():
        logits = model.head(model.backbone({'coord': points, 'feat': feats}),
                            torch.tensor([3, 7]))
    assert logits.shape == (2, 512, 50) and torch.isfinite(logits).all()


def test_tap_damaged_inputs_fail_in_one_line(tmp_path, capsys):
    shapes = layout('tap', 'cfgs/scanobjectnn/dgcnn_finetune.yaml')
    out = tmp_path / 'out.pth'

    renamed = dict(shapes)
    renamed['encoder.backbone.1.gconv.nn.0.weights'] = renamed.pop(
        'encoder.backbone.1.gconv.nn.0.weight')
    write_upstream(tmp_path / 'renamed.pth', renamed)
    line = failure(tap, [tmp_path / 'renamed.pth', out], capsys)
    assert 'ConversionError' in line and 'encoder.backbone.1.gconv.nn.0.weights' in line

    reshaped = dict(shapes, **{'encoder.fusion_block.0.weight': [1024, 256, 1]})
    write_upstream(tmp_path / 'reshaped.pth', reshaped)
    line = failure(tap, [tmp_path / 'reshaped.pth', out], capsys)
    assert 'shape mismatch' in line and 'encoder.fusion_block.0.weight' in line
    assert '(1024, 256, 1)' in line and '(1024, 512, 1)' in line

    missing = {k: v for k, v in shapes.items() if not k.startswith('prediction.head.4.')}
    write_upstream(tmp_path / 'missing.pth', missing)
    line = failure(tap, [tmp_path / 'missing.pth', out], capsys)
    assert 'missing' in line and 'head.mlp.8' in line

    write_upstream(tmp_path / 'ok.pth', shapes)
    line = failure(tap, [tmp_path / 'ok.pth', out, '--kind', 'pretrain'], capsys)
    assert 'finetune checkpoint (dgcnn), not --kind pretrain' in line
    write_upstream(tmp_path / 'other.pth', {'foo.weight': [3, 3]})
    assert 'not a TAP/openpoints checkpoint' in failure(tap, [tmp_path / 'other.pth', out],
                                                         capsys)
    (tmp_path / 'text.pth').write_text('not a checkpoint')
    assert 'cannot read' in failure(tap, [tmp_path / 'text.pth', out], capsys)
    assert 'not found' in failure(tap, [tmp_path / 'absent.pth', out], capsys)
    assert not out.exists()


# ----------------------------------------------------------------------------- 3DETR
@pytest.mark.parametrize('name,encoder', [('scannet_masked_ep1080', 'masked'),
                                          ('scannet_ep1080', 'vanilla')])
def test_3detr_scannet(tmp_path, capsys, name, encoder):
    src = tmp_path / f'{name}.pth'
    sd = write_upstream(src, layout('threedetr', name))
    out = tmp_path / '3detr.pth'
    result = convert(threedetr, [src, out], capsys)
    assert result['encoder'] == encoder
    dropped = result['conversion'].dropped
    assert list(dropped) == [threedetr.ANGLE_REASON]
    assert all('angle_' in k for k in dropped[threedetr.ANGLE_REASON])
    assert len(dropped[threedetr.ANGLE_REASON]) == 28  # 2 heads x (3 convs, 2 BNs, bias)
    state = check_output_file(out, result, sd)
    model = build(result)
    model.load_state_dict(state, strict=True)
    gen = torch.Generator().manual_seed(0)
    points = torch.rand(1, 2200, 3, generator=gen) * torch.tensor([5.0, 4.0, 2.5])
    with torch.no_grad():
        pred = model({'coord': points}, mode='tensor')[-1]
    assert pred['cls_logits'].shape == (1, 256, 19) and torch.isfinite(pred['bboxes']).all()


def test_3detr_keeps_angle_heads_when_the_config_has_them(tmp_path, capsys):
    src = tmp_path / 'in.pth'
    sd = write_upstream(src, layout('threedetr', 'scannet_masked_ep1080'))
    out = tmp_path / 'out.pth'
    result = convert(threedetr, [src, out, '--cfg-options', 'model.head.with_angle_head=True'],
                     capsys)
    assert result['conversion'].num_dropped == 0
    build(result).load_state_dict(check_output_file(out, result, sd), strict=True)


def test_3detr_damaged_input_fails_in_one_line(tmp_path, capsys):
    shapes = dict(layout('threedetr', 'scannet_masked_ep1080'))
    shapes['pos_embedding.gauss_B'] = [3, 64]
    write_upstream(tmp_path / 'in.pth', shapes)
    line = failure(threedetr, [tmp_path / 'in.pth', tmp_path / 'out.pth'], capsys)
    assert 'shape mismatch' in line and 'pos_embedding.gauss_B' in line


def test_command_line_error_is_one_line_with_status_1(tmp_path):
    shapes = dict(layout('threedetr', 'scannet_ep1080'))
    shapes['decoder.layers.0.linear3.weight'] = shapes.pop('decoder.layers.0.linear2.weight')
    write_upstream(tmp_path / 'in.pth', shapes)
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'threedetr.py'), str(tmp_path / 'in.pth'),
         str(tmp_path / 'out.pth')], capture_output=True, text=True, cwd=str(tmp_path),
        env=dict(__import__('os').environ, TAP3D_DEBUG=''))
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('threedetr.py: error: ConversionError')
    assert 'decoder.layers.0.linear3.weight' in err[0]
    assert not (tmp_path / 'out.pth').exists()


# ----------------------------------------------------------------------------- PTv2
def test_pointcept_ptv2_m2(tmp_path, capsys):
    src = tmp_path / 'model_best.pth'
    sd = write_upstream(src, layout('pointcept_ptv2', 'semseg-pt-v2m2-0-base'),
                        entry='state_dict', prefix='module.',
                        extra={'best_metric_value': 0.75, 'scaler': None})
    out = tmp_path / 'ptv2.pth'
    result = convert(ptv2, [src, out], capsys)
    assert result['conversion'].num_dropped == 0
    state = check_output_file(out, result, sd)
    model = build(result)
    model.load_state_dict(state, strict=True)
    gen = torch.Generator().manual_seed(0)
    coord = torch.rand(600, 3, generator=gen) * 2
    inputs = dict(coord=coord, feat=torch.randn(600, 9, generator=gen),
                  offset=torch.tensor([300, 600]))
    with torch.no_grad():
        logits = model(inputs, mode='tensor')
    assert logits.shape == (600, 20) and torch.isfinite(logits).all()

    shapes = dict(layout('pointcept_ptv2', 'semseg-pt-v2m2-0-base'))
    shapes['backbone.seg_head.3.weight'] = [13, 48]
    write_upstream(tmp_path / 'bad.pth', shapes, entry='state_dict', prefix='module.')
    line = failure(ptv2, [tmp_path / 'bad.pth', out], capsys)
    assert 'shape mismatch' in line and 'backbone.seg_head.3.weight (13, 48)' in line


# ----------------------------------------------------------------------------- Point-BERT
def _point_bert_kept(key):
    return key.startswith('transformer_q.') and not key.startswith(
        ('transformer_q.lm_head', 'transformer_q.cls_head', 'transformer_q.mask_token'))


def test_point_bert_equals_the_upstream_computation(tmp_path, capsys):
    src = tmp_path / 'Point-BERT.pth'
    shapes = layout('point_bert', 'Point-BERT.yaml')
    sd = write_upstream(src, shapes, entry='base_model', prefix='module.',
                        keep=_point_bert_kept)
    out = tmp_path / 'bert.pth'
    result = convert(point_bert, [src, out], capsys)
    dropped = result['conversion'].dropped
    assert sum(len(v) for v in dropped.values()) == sum(not _point_bert_kept(k) for k in shapes)
    assert {r.split(':')[0] for r in dropped} == {'queue', 'mask token', 'lm_head', 'cls_head',
                                                  'transformer_k', 'dvae'}
    check_output_file(out, result, sd)
    backbone = MODELS.build(dict(type='StandardPointTransformer', num_groups=64, group_size=32,
                                 grouping='knn')).eval()
    load_pretrained(backbone, str(out), prefix='backbone.')  # strict: nothing missing
    points = object_batch(n=512)['coord']
    with torch.no_grad():
        patches, centres = backbone.group(points)
        ref = upstream_transformer(sd, 'transformer_q.', patches, centres)
        assert torch.allclose(backbone({'coord': points})['global_feat'], ref, atol=1e-5,
                              rtol=1e-5)

    bad = dict(shapes)
    bad['transformer_q.reduce_dim.weight'] = [384, 512]
    write_upstream(tmp_path / 'bad.pth', bad, entry='base_model', keep=_point_bert_kept)
    line = failure(point_bert, [tmp_path / 'bad.pth', out], capsys)
    assert 'shape mismatch' in line and 'transformer_q.reduce_dim.weight' in line


# ----------------------------------------------------------------------------- Point-MAE
def test_point_mae_equals_the_upstream_computation(tmp_path, capsys):
    src = tmp_path / 'pretrain.pth'
    shapes = layout('point_mae', 'pretrain.yaml')
    sd = write_upstream(src, shapes, entry='base_model',
                        keep=lambda k: k.startswith('MAE_encoder.'))
    out = tmp_path / 'mae.pth'
    result = convert(point_mae, [src, out], capsys)
    assert {r.split(':')[0] for r in result['conversion'].dropped} == {
        'mask token', 'decoder', 'increase_dim'}
    state = check_output_file(out, result, sd)
    assert 'backbone.cls_token' not in state and 'backbone.reduce_dim.weight' not in state
    backbone = MODELS.build(dict(type='StandardPointTransformer', num_groups=64, group_size=32,
                                 grouping='knn', encoder_dims=384,
                                 project_tokens=False)).eval()
    report = load_pretrained(backbone, str(out), prefix='backbone.',
                             skip_keys=('cls_token', 'cls_pos'))
    assert not report['missing'] and not report['unexpected']
    points = object_batch(n=512)['coord']
    with torch.no_grad():
        patches, centres = backbone.group(points)
        ref = upstream_transformer(sd, 'MAE_encoder.', patches, centres, project=False,
                                   cls=(backbone.cls_token, backbone.cls_pos))
        assert torch.allclose(backbone({'coord': points})['global_feat'], ref, atol=1e-5,
                              rtol=1e-5)

    renamed = dict(shapes)
    renamed['MAE_encoder.norm.gamma'] = renamed.pop('MAE_encoder.norm.weight')
    write_upstream(tmp_path / 'bad.pth', renamed, entry='base_model',
                   keep=lambda k: k.startswith('MAE_encoder.'))
    line = failure(point_mae, [tmp_path / 'bad.pth', out], capsys)
    assert 'not a Point-MAE pre-training checkpoint' in line


# ----------------------------------------------------------------------------- machinery
def test_reading_never_runs_code_from_the_file(tmp_path):
    path = tmp_path / 'ckpt.pth'
    write_upstream(path, {'a.weight': [2, 2]})
    ckpt, placeholders = common.read_checkpoint(str(path))
    assert placeholders == sorted(['argparse.Namespace', f'{__name__}.TrainingConfig'])
    assert ckpt['args'].not_loaded == 'argparse.Namespace'
    assert ckpt['args'].__dict__['lr'] == 1e-3  # the attributes are plain data
    assert ckpt['cfg'].not_loaded.endswith('TrainingConfig')
    assert float(ckpt['best_val']) == 88.5 and ckpt['epoch'] == 100


def test_rules_reject_every_ambiguity():
    target = {'backbone.a': torch.zeros(2, 3), 'backbone.b': torch.zeros(4)}
    rules = [common.rename(r'enc\.(.+)', r'backbone.\1'),
             common.drop(r'dec\..+', 'decoder: not needed')]
    ok = common.convert_state_dict({'enc.a': torch.ones(2, 3), 'enc.b': torch.ones(4),
                                    'dec.x': torch.ones(1)}, rules, target)
    assert ok.summary() == 'converted 2 tensors, dropped 1 (1 decoder), unmatched 0'
    assert ok.source_of == {'backbone.a': 'enc.a', 'backbone.b': 'enc.b'}
    with pytest.raises(common.ConversionError, match='both map to backbone.a'):
        common.convert_state_dict(
            {'enc.a': torch.ones(2, 3), 'enc.b': torch.ones(4), 'x.a': torch.ones(2, 3)},
            rules + [common.rename(r'x\.(.+)', r'backbone.\1')], target)
    with pytest.raises(common.ConversionError, match='dtype mismatch'):
        common.convert_state_dict({'enc.a': torch.ones(2, 3, dtype=torch.long),
                                   'enc.b': torch.ones(4)}, rules, target)
    with pytest.raises(ValueError, match='needs a reason'):
        common.drop('x', '')
