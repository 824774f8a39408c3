"""Scene-level TAP pre-training -> fine-tuning -> fragment-voting test of PTv2 on
tiny synthetic rooms, through tools/train.py and tools/test.py (in-process)."""
import importlib.util
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TAP_CFG = 'configs/tap/synthetic/tap_ptv2_1xb2-2e_synthetic-scannet.py'
SEG_CFG = 'configs/ptv2/synthetic/ptv2m2_tap-synthetic-pre_1xb2-2e_synthetic-scannet.py'


def load_tool(name):
    """Import tools/<name>.py as a module (it puts the repository on sys.path)."""
    tools = osp.join(ROOT, 'tools')
    if tools not in sys.path:
        sys.path.insert(0, tools)
    spec = importlib.util.spec_from_file_location(f'_tap3d_tool_{name}',
                                                  osp.join(tools, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(monkeypatch, name, argv):
    """Parse ``argv`` with the tool's own parser and build its runner."""
    tool = load_tool(name)
    monkeypatch.setattr(sys, 'argv', [f'{name}.py'] + list(argv))
    return tool.build_runner(tool.parse_args())


def write_tiny_scenes(root):
    from tap3d.datasets.synthetic.scenes import write_synthetic_scenes
    write_synthetic_scenes(str(root), num_train=2, num_val=1, points_per_scene=500, seed=0)
    return str(root)


def data_options(root, loaders):
    return [f'{loader}.dataset.data_root={root}' for loader in loaders]


@pytest.fixture(scope='module')
def scenes(tmp_path_factory):
    return write_tiny_scenes(tmp_path_factory.mktemp('scannet'))


def test_tap_pretrain_finetune_and_vote(tmp_path, scenes, monkeypatch):
    one_epoch = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                 'default_hooks.checkpoint.interval=1']
    tap_dir = tmp_path / 'tap'
    runner = run_tool(monkeypatch, 'train', [
        osp.join(ROOT, TAP_CFG), '--work-dir', str(tap_dir), '--cfg-options',
        *data_options(scenes, ['train_dataloader', 'val_dataloader']), *one_epoch
    ])
    runner.train()
    ckpt = tap_dir / 'epoch_1.pth'
    assert ckpt.is_file()

    seg_dir = tmp_path / 'seg'
    runner = run_tool(monkeypatch, 'train', [
        osp.join(ROOT, SEG_CFG), '--work-dir', str(seg_dir), '--cfg-options',
        *data_options(scenes, ['train_dataloader', 'val_dataloader', 'test_dataloader']),
        *one_epoch, f'model.backbone.init_cfg.checkpoint={ckpt}'
    ])
    # the pre-trained encoder is loaded in full; only the decoder starts fresh
    backbone = runner.model.backbone
    runner.train()
    report = backbone.pretrained_report
    assert report['matched'] and all(k.startswith('dec_stages.') for k in report['missing'])

    runner = run_tool(monkeypatch, 'test', [
        osp.join(ROOT, SEG_CFG), str(seg_dir / 'epoch_1.pth'), '--work-dir', str(seg_dir),
        '--cfg-options', *data_options(scenes, ['test_dataloader'])
    ])
    metrics = runner.test()
    assert set(metrics) >= {'mIoU', 'mAcc', 'allAcc'}
    assert 0.0 <= metrics['allAcc'] <= 1.0
    # the shipped save_best='mIoU' kept the best checkpoint, and it loads for testing too
    (best, ) = seg_dir.glob('best_mIoU_epoch_*.pth')
    runner = run_tool(monkeypatch, 'test', [
        osp.join(ROOT, SEG_CFG), str(best), '--work-dir', str(seg_dir),
        '--cfg-options', *data_options(scenes, ['test_dataloader'])
    ])
    assert runner.test() == metrics  # one epoch: the best is the last
