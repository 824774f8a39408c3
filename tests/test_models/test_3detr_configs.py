"""Every 3DETR config loads and builds; TAP weights transfer into the detector;
train -> test runs end to end on synthetic scenes through tools/train.py and
tools/test.py."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from tap3d.registry import MODELS
from tap3d.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', '3detr', '**', '*.py'), recursive=True))
TAP_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'tap', '**', 'tap_3detr*.py'),
                             recursive=True))
TAP_MODEL = osp.join(ROOT, 'configs', '_base_', 'models', '3detr-m_tap.py')
FINETUNE = osp.join(ROOT, 'configs', '3detr', '3detr-m_tap-shapenet55-pre_1xb8-1080e_scannet.py')
SYNTHETIC = osp.join(ROOT, 'configs', '3detr', 'synthetic', '3detr-m_1xb2-4e_synthetic-scannet.py')


@pytest.fixture(autouse=True, scope='module')
def _scope():
    register_all_modules(init_default_scope=False)
    name = 'test_3detr_configs'
    scope = DefaultScope.get_instance(name, scope_name='tap3d') \
        if not DefaultScope.check_instance_created(name) else DefaultScope.get_instance(name)
    with DefaultScope.overwrite_default_scope('tap3d'):
        yield scope


def _count(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize('path', DET_CONFIGS + TAP_CONFIGS, ids=osp.basename)
def test_config_loads_and_builds(path):
    cfg = Config.fromfile(path)
    if 'synthetic' not in path:
        # Full-size models: the shipped settings.
        model = MODELS.build(cfg.model)
        if cfg.model.type == 'ThreeDETR':
            expected = 7_438_555 if cfg.model.backbone.encoder_type == 'masked' else 7_305_691
            # The ScanNet configs run without the (unused) angle heads.
            angle = 2 * (2 * (256 * 256 + 512) + 257)
            assert _count(model) == expected - angle
            assert cfg.val_evaluator.type == 'DetMetric'
    else:
        model = MODELS.build(cfg.model)
    assert model.backbone.out_channels == 256


def test_schedule_matches_3detr():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '3detr', '3detr-m_1xb8-1080e_scannet.py'))
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 5e-4, 0.1)
    assert cfg.optim_wrapper.clip_grad.max_norm == 0.1
    assert cfg.train_cfg.max_epochs == 1080
    warm, cos = cfg.param_scheduler
    assert warm.end == 9 and cos.begin == 9 and cos.end == 1080 and cos.eta_min == 1e-6
    assert warm.start_factor * opt.lr == pytest.approx(1e-6)
    # The 3DETR-m script's encoder dropout; the plain preset keeps 0.1.
    assert cfg.model.backbone.dropout == 0.3
    plain = Config.fromfile(osp.join(ROOT, 'configs', '3detr', '3detr_1xb8-1080e_scannet.py'))
    assert plain.model.backbone.dropout == 0.1 and plain.model.head.proj_hidden_layers == 2


def test_tap_weights_load_into_the_detector(tmp_path):
    """Every encoder key of the fine-tuned detector comes from the TAP checkpoint."""
    tap_model = MODELS.build(Config.fromfile(TAP_MODEL).model)
    # Make the weights distinguishable from a fresh initialisation.
    with torch.no_grad():
        for p in tap_model.backbone.parameters():
            p.add_(0.5)
    ckpt = tmp_path / 'tap.pth'
    torch.save({'state_dict': tap_model.state_dict()}, ckpt)

    cfg = Config.fromfile(FINETUNE)
    cfg.model.backbone.init_cfg.checkpoint = str(ckpt)
    det = MODELS.build(cfg.model)
    det.init_weights()
    report = det.backbone.pretrained_report
    assert report['missing'] == [] and report['shape_mismatch'] == []
    own = det.backbone.state_dict()
    assert sorted(report['matched']) == sorted(own)
    src = tap_model.backbone.state_dict()
    for key, value in own.items():
        assert torch.equal(value, src[key]), key


def test_train_then_test_on_synthetic_scenes(tmp_path):
    from tap3d.datasets.synthetic.scenes import write_synthetic_scenes
    data = tmp_path / 'scannet'
    write_synthetic_scenes(str(data), num_train=2, num_val=1, points_per_scene=600, seed=0)
    # Two training iterations (one per epoch); tools/test.py does the evaluation.
    work = tmp_path / 'work'
    opts = [
        f'train_dataloader.dataset.data_root={data}', f'val_dataloader.dataset.data_root={data}',
        f'test_dataloader.dataset.data_root={data}', 'train_cfg.max_epochs=2',
        'train_cfg.val_interval=10', 'model.backbone.num_points=32',
        'model.backbone.num_samples=8', 'model.head.num_queries=8', 'model.head.num_layers=1',
        'train_dataloader.dataset.pipeline.1.num_points=600',
        'val_dataloader.dataset.pipeline.0.num_points=600',
        'test_dataloader.dataset.pipeline.0.num_points=600',
    ]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    train = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), SYNTHETIC, '--work-dir', str(work),
         '--cfg-options', *opts], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    ckpt = work / 'epoch_2.pth'
    assert ckpt.is_file()
    test = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'test.py'), SYNTHETIC, str(ckpt), '--work-dir',
         str(work / 'test'), '--cfg-options', *opts], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=300)
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    out = test.stdout + test.stderr
    assert 'det/mAP_0.25' in out and 'AP@0.25' in out
