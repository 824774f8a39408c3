"""PTv2 configs: every one loads and builds, the full one has the reference size,
and a scene-level TAP checkpoint transfers every encoder key."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import tap3d.models  # noqa: F401  (registers the models)
from tap3d.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = [
    'configs/ptv2/ptv2m2_4xb3-cosine-900e_scannet.py',
    'configs/ptv2/ptv2m2_4xb3-cosine-900e_scannet.py',
    'configs/ptv2/ptv2m2_tap-scannet-pre_4xb3-cosine-900e_scannet.py',
    'configs/ptv2/synthetic/ptv2m2_1xb2-2e_synthetic-scannet.py',
    'configs/ptv2/synthetic/ptv2m2_tap-synthetic-pre_1xb2-2e_synthetic-scannet.py',
    'configs/tap/tap_ptv2_4xb3-cosine-100e_scannet.py',
    'configs/tap/tap_ptv2_4xb3-cosine-100e_scannet.py',
    'configs/tap/synthetic/tap_ptv2_1xb2-2e_synthetic-scannet.py',
]


def _cfg(name):
    return Config.fromfile(osp.join(ROOT, name))


def _build(model_cfg):
    model_cfg = model_cfg.copy()
    model_cfg.get('backbone', {}).pop('init_cfg', None)  # building must not need a file
    return MODELS.build(model_cfg)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_loads_and_builds(name):
    cfg = _cfg(name)
    model = _build(cfg.model)
    assert model.backbone.in_channels == 9
    assert cfg.train_dataloader.dataset.type == 'ScanNetSegDataset'


def test_scannet_config_has_reference_parameter_count():
    model = _build(_cfg(CONFIGS[0]).model)
    assert sum(p.numel() for p in model.parameters()) == 11_323_948


def test_tap_checkpoint_transfers_every_encoder_key(tmp_path):
    from mmengine.registry import DefaultScope
    torch.manual_seed(0)
    pre = _build(_cfg('configs/tap/synthetic/tap_ptv2_1xb2-2e_synthetic-scannet.py').model)
    ckpt = tmp_path / 'tap.pth'
    torch.save({'state_dict': pre.state_dict(), 'meta': {}}, ckpt)

    cfg = _cfg('configs/ptv2/synthetic/ptv2m2_tap-synthetic-pre_1xb2-2e_synthetic-scannet.py')
    cfg.model.backbone.init_cfg.checkpoint = str(ckpt)
    model = MODELS.build(cfg.model)
    with DefaultScope.overwrite_default_scope('tap3d'):
        model.init_weights()
    report = model.backbone.pretrained_report
    encoder_keys = [k for k in model.backbone.state_dict() if not k.startswith('dec_stages.')]
    assert sorted(report['matched']) == sorted(encoder_keys)
    assert all(k.startswith('dec_stages.') for k in report['missing'])
    assert not report['unexpected'] and not report['shape_mismatch']
    for key in encoder_keys:
        torch.testing.assert_close(model.backbone.state_dict()[key],
                                   pre.state_dict()['backbone.' + key])
