"""tools/misc/visualize_seg.py: class colours, the GT | prediction panel, and the
command line from a checkpoint and from saved predictions."""
import importlib.util
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(ROOT, 'configs/ptv2/synthetic/ptv2m2_1xb2-2e_synthetic-scannet.py')


def _tool():
    spec = importlib.util.spec_from_file_location(
        '_tap3d_visualize_seg', osp.join(ROOT, 'tools/misc/visualize_seg.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_colorize_labels_uses_palette_and_ignore_colour():
    vis = _tool()
    colors = vis.colorize_labels(torch.tensor([1, -1, 0]), [(10, 20, 30), (40, 50, 60)])
    np.testing.assert_array_equal(colors, [[40, 50, 60], list(vis.IGNORE_COLOR), [10, 20, 30]])
    with pytest.raises(ValueError, match='palette'):
        vis.colorize_labels([2], [(0, 0, 0)])


def test_panel_shows_ground_truth_left_and_prediction_right():
    vis = _tool()
    gen = torch.Generator().manual_seed(0)
    points = torch.rand(400, 3, generator=gen)
    gt = torch.zeros(400, dtype=torch.long)  # class 0 everywhere
    pred = torch.ones(400, dtype=torch.long)  # class 1 everywhere
    palette = [(200, 0, 0), (0, 0, 200)]
    panel = vis.render_seg_panel(points, gt, pred, palette=palette, img_size=64,
                                 point_radius_px=1)
    assert panel.shape == (128, 128, 3) and panel.dtype == np.uint8
    left, right = panel[:, :64].reshape(-1, 3), panel[:, 64:].reshape(-1, 3)
    # each half holds only white background and (shaded or not) its own class colour
    assert (left[:, 0] > left[:, 2]).any() and not (left[:, 2] > left[:, 0]).any()
    assert (right[:, 2] > right[:, 0]).any() and not (right[:, 0] > right[:, 2]).any()
    with pytest.raises(ValueError, match='prediction has 3 labels'):
        vis.render_seg_panel(points, gt, pred[:3], palette=palette, img_size=32)


@pytest.fixture(scope='module')
def scenes(tmp_path_factory):
    from tap3d.datasets.synthetic.scenes import write_synthetic_scenes
    root = str(tmp_path_factory.mktemp('scannet'))
    write_synthetic_scenes(root, num_train=1, num_val=1, points_per_scene=500, seed=0)
    return root


def test_cli_from_checkpoint_and_from_saved_predictions(tmp_path, scenes):
    from mmengine.config import Config

    from tap3d.registry import MODELS
    vis = _tool()
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CFG).model)
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    opts = ['--cfg-options', f'test_dataloader.dataset.data_root={scenes}']
    out = tmp_path / 'vis'
    paths = vis.main([CFG, str(ckpt), '--img-size', '48', '--out-dir', str(out), *opts])
    image = np.asarray(Image.open(paths[0]))
    assert image.shape == (96, 96, 3) and (image < 255).any()

    labels = np.load(osp.join(scenes, 'val', 'scene0001_00', 'segment20.npy'))
    with open(tmp_path / 'preds.pkl', 'wb') as f:
        pickle.dump([dict(pred_sem_labels=torch.as_tensor(labels))], f)
    paths = vis.main([CFG, '--pred', str(tmp_path / 'preds.pkl'), '--img-size', '48',
                      '--out-dir', str(out / 'saved'), *opts])
    image = np.asarray(Image.open(paths[0]))
    # a perfect prediction renders exactly like the ground truth
    np.testing.assert_array_equal(image[:, :48], image[:, 48:])
