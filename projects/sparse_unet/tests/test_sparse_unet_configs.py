"""The project's configs load through custom_imports, build, and chain TAP
pre-training -> fine-tuning -> fragment-voting test through the stock tools."""
import importlib.util
import os.path as osp
import sys

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFG_DIR = osp.join(ROOT, 'projects', 'sparse_unet', 'configs')
CONFIGS = [
    'spunet_4xb3-cosine-800e_scannet.py',
    'spunet_scannet.py',
    'spunet_tap-scannet-pre_4xb3-cosine-800e_scannet.py',
    'tap_spunet_4xb3-cosine-100e_scannet.py',
    'spunet_1xb2-2e_synthetic-scannet.py',
    'spunet_tap-synthetic-pre_1xb2-2e_synthetic-scannet.py',
    'tap_spunet_1xb2-2e_synthetic-scannet.py',
]

needs_spconv = pytest.mark.skipif(
    importlib.util.find_spec('spconv') is None, reason='spconv (spconv-cu120) not installed')


@pytest.mark.parametrize('name', CONFIGS)
def test_config_loads_with_custom_imports(name):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    assert cfg.custom_imports['imports'] == ['projects.sparse_unet.sparse_unet']
    assert cfg.model.backbone.type == 'SpUNetBackbone'


@needs_spconv
@pytest.mark.parametrize('name', CONFIGS)
def test_config_model_builds(name):
    import torch
    from mmengine.utils import import_modules_from_strings

    from tap3d.registry import MODELS
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    import_modules_from_strings(**cfg.custom_imports)
    cfg.model.backbone.pop('init_cfg', None)
    with torch.device('meta'):  # shapes only: the full U-Net has 39M parameters
        model = MODELS.build(cfg.model)
    assert model.backbone.in_channels == 6


def _load_tool(name):
    tools = osp.join(ROOT, 'tools')
    if tools not in sys.path:
        sys.path.insert(0, tools)
    spec = importlib.util.spec_from_file_location(f'_tap3d_tool_{name}',
                                                  osp.join(tools, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _runner(monkeypatch, name, argv):
    tool = _load_tool(name)
    monkeypatch.setattr(sys, 'argv', [f'{name}.py'] + list(argv))
    return tool.build_runner(tool.parse_args())


@needs_spconv
def test_tap_pretrain_finetune_and_vote(tmp_path, monkeypatch):
    from tap3d.datasets.synthetic.scenes import write_synthetic_scenes
    root = str(tmp_path / 'scannet')
    write_synthetic_scenes(root, num_train=2, num_val=1, points_per_scene=500, seed=0)

    def data(*loaders):
        return [f'{loader}.dataset.data_root={root}' for loader in loaders]

    one_epoch = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                 'default_hooks.checkpoint.interval=1']
    runner = _runner(monkeypatch, 'train', [
        osp.join(CFG_DIR, 'tap_spunet_1xb2-2e_synthetic-scannet.py'), '--work-dir',
        str(tmp_path / 'tap'), '--cfg-options', *data('train_dataloader', 'val_dataloader'),
        *one_epoch
    ])
    runner.train()
    ckpt = tmp_path / 'tap' / 'epoch_1.pth'

    seg_cfg = osp.join(CFG_DIR, 'spunet_tap-synthetic-pre_1xb2-2e_synthetic-scannet.py')
    runner = _runner(monkeypatch, 'train', [
        seg_cfg, '--work-dir', str(tmp_path / 'seg'), '--cfg-options',
        *data('train_dataloader', 'val_dataloader', 'test_dataloader'), *one_epoch,
        f'model.backbone.init_cfg.checkpoint={ckpt}', 'default_hooks.checkpoint.save_best=None'
    ])
    backbone = runner.model.backbone
    runner.train()
    report = backbone.pretrained_report
    # stem and down stages come from TAP; only the up stages are new
    assert report['matched'] and not report['unexpected']
    assert all(k.startswith(('up.', 'dec.')) for k in report['missing'])
    assert any(k.startswith('enc.3.') for k in report['matched'])

    runner = _runner(monkeypatch, 'test', [
        seg_cfg, str(tmp_path / 'seg' / 'epoch_1.pth'), '--work-dir', str(tmp_path / 'seg'),
        '--cfg-options', *data('test_dataloader')
    ])
    metrics = runner.test()
    assert set(metrics) >= {'mIoU', 'mAcc', 'allAcc'}
