"""Synthetic part-labelled shapes -> tools/train.py -> tools/test.py --vote -> picture."""
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'configs/pointmlp/synthetic/pointmlp-partseg_1xb8-2e_synthetic-shapenetpart.py'


def run_tool(*args):
    proc = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    if proc.returncode != 0:
        raise AssertionError(f'{args[0]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    from tap3d.datasets.synthetic.objects import write_synthetic_shapenetpart
    tmp = tmp_path_factory.mktemp('partseg')
    write_synthetic_shapenetpart(str(tmp), num_train=1, num_val=0, num_test=1,
                                 num_points=300, progress=False)
    root = str(tmp / 'shapenetcore_partanno_segmentation_benchmark_v0_normal')
    opts = [f'{loader}.dataset.{key}' for loader in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')
            for key in ('data_root=' + root, 'num_points=128')]
    work = str(tmp / 'work')
    run_tool('tools/train.py', CONFIG, '--work-dir', work, '--cfg-options',
             'train_cfg.max_epochs=1', *opts)
    return work, opts


def test_train_then_test_with_votes(trained):
    work, opts = trained
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    out = run_tool('tools/test.py', CONFIG, ckpt, '--vote', '2', '--work-dir', work,
                   '--cfg-options', *opts)
    score = re.search(r'mIoU_I: ([0-9.]+)\s+mIoU_C: ([0-9.]+)', out)
    assert score, out[-2000:]
    assert 0 < float(score.group(1)) <= 100 and 0 < float(score.group(2)) <= 100
    assert 'part segmentation per category' in out and 'skateboard' in out


def test_picture_tool_draws_both_columns(trained):
    from PIL import Image
    work, opts = trained
    out_dir = osp.join(work, 'vis')
    out = run_tool('tools/misc/visualize_partseg.py', CONFIG, osp.join(work, 'epoch_1.pth'),
                   '--num', '2', '--img-size', '96', '--out-dir', out_dir, '--cfg-options',
                   *[o.replace('test_dataloader.', '', 0) for o in opts
                     if o.startswith('test_dataloader')])
    assert 'part mIoU' in out
    img = np.asarray(Image.open(osp.join(out_dir, 'partseg.png')))
    assert img.shape == (2 * 96, 2 * 96, 3)
    for half in (img[:, :96], img[:, 96:]):  # ground truth and prediction both drawn
        assert (half.min(axis=-1) < 200).mean() > 0.01


def test_picture_tool_refuses_a_checkpoint_of_another_model(trained):
    import torch

    from tap3d.utils import load_checkpoint_file
    work, opts = trained
    ckpt = load_checkpoint_file(osp.join(work, 'epoch_1.pth'))
    dropped = sorted(k for k in ckpt['state_dict'] if k.startswith('head.'))
    for key in dropped:
        del ckpt['state_dict'][key]
    partial = osp.join(work, 'backbone_only.pth')
    torch.save(ckpt, partial)
    proc = subprocess.run(
        [sys.executable, 'tools/misc/visualize_partseg.py', CONFIG, partial, '--num', '1',
         '--out-dir', osp.join(work, 'vis_partial'), '--cfg-options',
         *[o.replace('test_dataloader.', '', 0) for o in opts
           if o.startswith('test_dataloader')]],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert 'backbone_only.pth does not fit' in proc.stderr and dropped[0] in proc.stderr
    assert not osp.exists(osp.join(work, 'vis_partial', 'partseg.png'))
