"""MeanViewBaselineHook: the mean training view per pose reaches ViewMetric through the Runner."""
import glob
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from PIL import Image

from tap3d.engine.hooks import MeanViewBaselineHook

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CPU_CFG = osp.join(REPO, 'configs', 'tap', 'synthetic', 'tap_pointmlp_synthetic-cpu.py')
IMG, OBJ = 32, 28


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    """A box (train), a cone (val) and a cylinder (test) with 32-pixel views."""
    pytest.importorskip('trimesh')
    from tests.data.tap_fixtures import write_tiny_shapenet55
    return write_tiny_shapenet55(str(tmp_path_factory.mktemp('shapenet55_tiny')), IMG, OBJ)


def _cfg(data_root, work_dir):
    cfg = Config.fromfile(CPU_CFG)
    cfg.model.backbone.update(embed_dim=8, k_neighbors=(8, 8, 8, 8))
    cfg.model.head.update(img_size=IMG, obj_size=OBJ, downsample=8, embed_dims=16, head_dims=4)
    cfg.model.resize_views = False
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].update(batch_size=2, num_workers=0, persistent_workers=False)
        cfg[name].dataset.update(data_root=data_root, img_size=IMG, num_views=2)
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.custom_hooks = []
    cfg.work_dir = work_dir
    cfg.visualizer.name = f'baseline_{osp.basename(work_dir)}'
    return cfg


def _view(root, split, stem, k):
    path = osp.join(root, 'shapenet55v1', split, f'{stem}_{k + 1:03d}.jpg')
    return np.asarray(Image.open(path).convert('RGB'), dtype=np.float64) / 255.0


def test_runner_reports_the_baseline_of_the_training_split(data_root, tmp_path, one_thread):
    from mmengine.runner import Runner

    from tap3d.utils import register_all_modules
    register_all_modules(init_default_scope=False)  # weights_only-safe checkpoint loading
    torch.manual_seed(0)
    runner = Runner.from_cfg(_cfg(data_root, str(tmp_path)))
    runner.train()
    hub = runner.message_hub
    # by hand: the mean of the box (train) and the cone (val) at the test views' poses
    # (2 views in test mode: poses 0 and 6), against the cylinder (test)
    mses, ious = [], []
    for k in (0, 6):
        mean = (_view(data_root, 'train', 'model_000000', k) +
                _view(data_root, 'val', 'model_000001', k)) / 2
        gt = _view(data_root, 'test', 'model_000002', k)
        mses.append(((mean - gt)**2).mean())
        fg_gt, fg_mean = (gt < 1.0).any(-1), (mean < 0.95).any(-1)
        ious.append((fg_gt & fg_mean).sum() / (fg_gt | fg_mean).sum())
    assert hub.get_scalar('val/view/baseline_mse').current() == pytest.approx(np.mean(mses))
    assert hub.get_scalar('val/view/baseline_fg_iou').current() == pytest.approx(np.mean(ious))
    (cache, ) = glob.glob(osp.join(str(tmp_path), 'mean_views_*.npz'))
    with np.load(cache) as f:
        assert f['mean_views'].shape == (12, IMG, IMG, 3) and int(f['num_shapes']) == 2

    # a test run in the same work dir reads the cache and scores the same views
    mtime = osp.getmtime(cache)
    runner = Runner.from_cfg(_test_cfg(data_root, str(tmp_path)))
    metrics = runner.test()
    assert osp.getmtime(cache) == mtime
    assert metrics['view/baseline_mse'] == pytest.approx(np.mean(mses))
    assert metrics['view/mse'] == pytest.approx(hub.get_scalar('val/view/mse').current())


def _test_cfg(data_root, work_dir):
    cfg = _cfg(data_root, work_dir)
    cfg.load_from = osp.join(work_dir, 'epoch_1.pth')
    cfg.visualizer.name = f'baseline_test_{osp.basename(work_dir)}'
    return cfg


def test_no_baseline_without_fixed_poses(tmp_path):
    """A training dataset without per-pose views (e.g. random poses) gets no baseline."""
    import tests.fixtures.toy_components  # noqa: F401  (registers ToyShapes)
    from tap3d.evaluation.metrics import ViewMetric
    metric = ViewMetric()
    runner = SimpleNamespace(
        cfg=Config(dict(train_dataloader=dict(dataset=dict(type='ToyShapes', length=4)))),
        work_dir=str(tmp_path), logger=MMLogger.get_instance('no_baseline_test'),
        val_loop=SimpleNamespace(evaluator=SimpleNamespace(metrics=[metric])))
    MeanViewBaselineHook().before_val(runner)
    assert metric.mean_views is None
    assert not glob.glob(osp.join(str(tmp_path), '*.npz'))
