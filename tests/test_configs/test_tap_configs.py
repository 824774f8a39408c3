"""Every PointMLP TAP config (ablations included) builds and trains for 2 iterations.

Widths, image size and data are shrunk through config overrides so the whole
file runs in seconds on a CPU; the switch each config is about stays as it is.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from tap3d.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TAP_DIR = osp.join(REPO, 'configs', 'tap')
MAIN = [osp.join(TAP_DIR, n) for n in ('tap_pointmlp_1xb32-cosine-100e_shapenet55.py',
                                        'pointmlp_shapenet.py',
                                        'synthetic/tap_pointmlp_synthetic-cpu.py')]
ABLATIONS = sorted(glob.glob(osp.join(TAP_DIR, 'ablations', '*.py')))
IMG, OBJ = 32, 28


def _rel(path):
    return osp.relpath(path, REPO)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    """Train, val and test: one shape each, ShapeNet55 layout, 32-pixel views."""
    from tests.data.tap_fixtures import write_tiny_shapenet55
    return write_tiny_shapenet55(str(tmp_path_factory.mktemp('shapenet55_tiny')), IMG, OBJ)


pytestmark = pytest.mark.usefixtures('one_thread')  # see conftest.py


def _shrink(cfg, data_root, work_dir):
    """Tiny widths, 32-pixel views, 2 views, local data; keeps every switch."""
    m = cfg.model
    m.backbone.update(embed_dim=8, pre_blocks=(1, 1, 1, 1), pos_blocks=(1, 1, 1, 1),
                      k_neighbors=(8, 8, 8, 8))
    m.head.update(img_size=IMG, obj_size=OBJ, downsample=8,
                  embed_dims=m.head.get('embed_dims', 256) // 8,
                  head_dims=max(m.head.get('head_dims', 32) // 8, 2),
                  depth=min(m.head.get('depth', 6), 2))
    if m.get('perceptual_loss'):
        m.perceptual_loss.update(weights=None, random_init=True, layers=('relu1_2', ))
    m.resize_views = False
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.update(batch_size=1, num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=data_root, img_size=IMG, num_views=2)
    cfg.work_dir = work_dir
    return cfg


@pytest.mark.parametrize('path', MAIN + ABLATIONS, ids=_rel)
def test_config_trains_two_iterations(path, data_root, tmp_path):
    torch.manual_seed(0)
    cfg = _shrink(Config.fromfile(path), data_root, str(tmp_path))
    model = MODELS.build(cfg.model)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[0], dataset[1]])
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    for _ in range(2):
        log = model.train_step(batch, optim)
        assert torch.isfinite(log['loss'])
    changed = [k for k, v in model.backbone.state_dict().items()
               if v.dtype.is_floating_point and not torch.equal(v, before[k])]
    assert changed, f'{_rel(path)}: the backbone did not train'


def test_ablation_switches_reach_the_head():
    heads = {osp.basename(p): Config.fromfile(p).model for p in ABLATIONS}
    assert heads['a1_projection.py'].head.photograph == 'projection'
    assert heads['a2_projection-selfattn.py'].head.photograph == 'projection_attention'
    assert heads['d_no-pad-token.py'].head.use_pad_token is False
    assert heads['e_learnable-queries.py'].head.query_type == 'learnable'
    assert heads['f1_no-origin.py'].head.query_components == ('direction', 'pe')
    assert heads['g6_wfg50.py'].loss.weight_fg == 50.0
    assert heads['h2_pixel-perceptual.py'].perceptual_loss.loss_weight == 2.0
    assert heads['authors-direction.py'].head.authors_direction is True


def test_runner_trains_validates_and_draws(data_root, tmp_path):
    """The CPU demo config end to end through mmengine's Runner (2 iterations)."""
    from mmengine.runner import Runner
    cfg = _shrink(Config.fromfile(MAIN[2]), data_root, str(tmp_path))
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.custom_hooks = [dict(type='ViewVisualizationHook', interval=1, num_samples=2)]
    cfg.default_hooks.checkpoint.update(interval=1)
    cfg.default_hooks.logger.update(interval=1)
    # the visualizer is a named global instance: a fresh name gives this run its own
    cfg.visualizer.name = f'tap_vis_{osp.basename(str(tmp_path))}'
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    grids = sorted(glob.glob(osp.join(str(tmp_path), 'vis_views', 'iter_*.png')))
    assert [osp.basename(g) for g in grids] == ['iter_000001.png', 'iter_000002.png']
    from PIL import Image
    w, h = Image.open(grids[-1]).size
    # the 1 test shape (num_samples is capped by the dataset): a ground-truth row
    # and a generated row, 2 views each, 2-pixel padding
    assert (w, h) == (2 * (IMG + 2) + 2, 2 * (IMG + 2) + 2)
    logged = glob.glob(osp.join(str(tmp_path), '**', 'vis_image', 'views_*.png'), recursive=True)
    assert logged, 'the grid was not sent to the visualizer backends'
    assert glob.glob(osp.join(str(tmp_path), 'best_view_loss_*.pth'))
