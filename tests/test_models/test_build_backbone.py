"""A backbone's init_cfg is honoured or refused, never silently dropped."""
import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from tap3d.models.utils import build_backbone
from tap3d.registry import MODELS
from tap3d.utils import register_all_modules

register_all_modules()


@MODELS.register_module(force=True)
class PlainTestBackbone(nn.Module):
    """A backbone written as a plain nn.Module, as docs/new_backbone.md allows."""

    def __init__(self, width=4):
        super().__init__()
        self.fc = nn.Linear(3, width)
        self.out_channels = width

    def forward(self, inputs):
        feats = self.fc(inputs['coord'])
        return dict(coords=inputs['coord'], feats=feats, global_feat=feats.max(1).values)


@MODELS.register_module(force=True)
class SwallowingTestBackbone(BaseModule):
    """A BaseModule whose constructor takes init_cfg but never passes it on."""

    def __init__(self, init_cfg=None):
        super().__init__()
        self.fc = nn.Linear(3, 4)


def _classifier(backbone):
    return MODELS.build(dict(type='PointClassifier', backbone=backbone,
                             head=dict(type='ClsHead', num_classes=2, hidden_channels=())))


def _checkpoint(tmp_path, width=4):
    source = PlainTestBackbone(width)
    path = str(tmp_path / 'tap.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}}, path)
    return source, path


def test_plain_module_loads_its_pretrained_weights(tmp_path):
    source, path = _checkpoint(tmp_path)
    model = _classifier(dict(type='PlainTestBackbone', init_cfg=dict(
        type='CheckedPretrained', checkpoint=path, prefix='backbone.')))
    assert not torch.equal(model.backbone.fc.weight, source.fc.weight)
    model.init_weights()
    assert torch.equal(model.backbone.fc.weight, source.fc.weight)
    assert model.backbone.pretrained_report['matched'] == ['fc.bias', 'fc.weight']


def test_plain_module_with_a_missing_checkpoint_fails(tmp_path):
    model = _classifier(dict(type='PlainTestBackbone', init_cfg=dict(
        type='CheckedPretrained', checkpoint=str(tmp_path / 'nope.pth'), prefix='backbone.')))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        model.init_weights()


def test_plain_module_with_a_checkpoint_of_another_width_fails(tmp_path):
    _, path = _checkpoint(tmp_path, width=8)
    model = _classifier(dict(type='PlainTestBackbone', init_cfg=dict(
        type='CheckedPretrained', checkpoint=path, prefix='backbone.')))
    with pytest.raises(RuntimeError, match='shape'):
        model.init_weights()


def test_plain_module_refuses_what_it_cannot_run():
    with pytest.raises(TypeError, match="plain nn.Module.*'Kaiming'"):
        build_backbone(dict(type='PlainTestBackbone', init_cfg=dict(type='Kaiming')))


def test_base_module_that_swallows_init_cfg_is_refused(tmp_path):
    _, path = _checkpoint(tmp_path)
    with pytest.raises(TypeError, match='did not pass it on'):
        build_backbone(dict(type='SwallowingTestBackbone', init_cfg=dict(
            type='CheckedPretrained', checkpoint=path)))


@pytest.mark.parametrize('owner', ['PointClassifier', 'TAPPretrainer'])
def test_every_owner_builds_its_backbone_through_the_check(owner):
    cfg = dict(type='SwallowingTestBackbone',
               init_cfg=dict(type='CheckedPretrained', checkpoint='x'))
    if owner == 'PointClassifier':
        build = lambda: _classifier(cfg)  # noqa: E731
    else:
        build = lambda: MODELS.build(dict(  # noqa: E731
            type='TAPPretrainer', backbone=cfg,
            head=dict(type='TAPHead', in_channels=4, embed_dims=16, depth=1, num_heads=2,
                      head_dims=8, img_size=16, obj_size=14, downsample=4)))
    with pytest.raises(TypeError, match='did not pass it on'):
        build()


def test_mmengines_unchecked_pretrained_is_refused(tmp_path):
    _, path = _checkpoint(tmp_path)
    with pytest.raises(TypeError, match="use type='CheckedPretrained'"):
        build_backbone(dict(type='PlainTestBackbone', init_cfg=dict(
            type='Pretrained', checkpoint=path, prefix='backbone.')))
