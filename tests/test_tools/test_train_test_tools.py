"""tools/train.py and tools/test.py end to end on a tiny model."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tap3d.utils import load_checkpoint_file

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CFG = osp.join(REPO, 'tests', 'fixtures', 'toy_cls_config.py')


def run_tool(tool, *args, check=True, env=None):
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', tool), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f'{tool} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc


def final_weights(work_dir, epoch):
    return load_checkpoint_file(osp.join(work_dir, f'epoch_{epoch}.pth'))['state_dict']


@pytest.fixture(scope='module')
def trained_toy(tmp_path_factory):
    """One uninterrupted 4-epoch run, shared by the tests below."""
    work_dir = str(tmp_path_factory.mktemp('straight'))
    run_tool('train.py', TOY_CFG, '--work-dir', work_dir)
    return work_dir


def test_resume_after_crash_matches_uninterrupted_run(tmp_path, trained_toy):
    straight, crashed = trained_toy, str(tmp_path / 'crashed')
    # the crash hook raises right after epoch 2's checkpoint is written
    proc = run_tool('train.py', TOY_CFG, '--work-dir', crashed, '--cfg-options',
                    'custom_hooks.0.epoch=2', check=False)
    assert proc.returncode != 0 and 'simulated crash' in proc.stderr
    assert not osp.exists(osp.join(crashed, 'epoch_3.pth'))
    run_tool('train.py', TOY_CFG, '--work-dir', crashed, '--resume')  # latest checkpoint
    a, b = final_weights(straight, 4), final_weights(crashed, 4)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    # and the checkpoints really moved: epoch 2 differs from epoch 4
    assert any(not torch.equal(final_weights(straight, 2)[k], a[k]) for k in a)


def test_checkpoints_load_with_weights_only(trained_toy):
    path = osp.join(trained_toy, 'epoch_1.pth')
    # tap3d's loader uses weights_only=True with a narrow allow-list
    ckpt = load_checkpoint_file(path)
    assert {'state_dict', 'optimizer', 'message_hub', 'rng_state'} <= set(ckpt)
    # the file references no global beyond numpy's array/scalar reconstructors (in
    # particular not builtins.getattr, which mmengine's HistoryBuffer would pickle)
    unsafe = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    assert unsafe <= {'numpy._core.multiarray._reconstruct', 'numpy._core.multiarray.scalar',
                      'numpy.ndarray', 'numpy.dtype'}, unsafe


def test_test_tool_evaluates_checkpoint(tmp_path, trained_toy):
    proc = run_tool('test.py', TOY_CFG, osp.join(trained_toy, 'epoch_4.pth'), '--work-dir',
                    str(tmp_path))
    assert 'accuracy' in proc.stdout + proc.stderr


def test_amp_flag_runs_on_cpu(tmp_path):
    work = str(tmp_path / 'amp')
    run_tool('train.py', TOY_CFG, '--work-dir', work, '--amp', '--cfg-options',
             'train_cfg.max_epochs=1')
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


@pytest.mark.parametrize('args, expected', [
    (['configs/does_not_exist.py'], 'config file not found: configs/does_not_exist.py'),
    ([TOY_CFG, '--cfg-options', 'modle.width=4'], "'modle' is not a key of '<root>'"),
    ([TOY_CFG, '--cfg-options', 'model.type=NoSuchModel'], 'NoSuchModel'),
    ([TOY_CFG, '--resume', 'missing.pth'], 'checkpoint to resume from not found: missing.pth'),
])
def test_bad_input_gives_one_clear_line(tmp_path, args, expected):
    proc = run_tool('train.py', *args, '--work-dir', str(tmp_path), check=False)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith('train.py: error:') and expected in lines[0], lines[0]


def test_test_tool_reports_missing_checkpoint(tmp_path):
    proc = run_tool('test.py', TOY_CFG, 'nope.pth', '--work-dir', str(tmp_path), check=False)
    assert proc.returncode == 1 and 'checkpoint not found: nope.pth' in proc.stderr


def test_print_config(tmp_path):
    proc = subprocess.run([sys.executable, 'tools/misc/print_config.py', TOY_CFG],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "type='ToyPointNet'" in proc.stdout


def _loss_curve(work_dir):
    (stamp, ) = [d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d))]
    path = osp.join(work_dir, stamp, 'vis_data', 'scalars.json')
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    return [r['global_loss'] for r in rows if 'global_loss' in r]


def test_two_process_gloo_matches_one_process(tmp_path):
    """2 processes x batch 4 give the same loss curve as 1 process x batch 8."""
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    # per-sample random augmentation would differ with the split, so it is off here
    opts = ['model.dropout=0.0', 'train_cfg.max_epochs=2', 'train_cfg.val_interval=10',
            'train_dataloader.dataset.augment=False']
    run_tool('train.py', TOY_CFG, '--work-dir', one, '--cfg-options', *opts)
    env = {'PORT': str(29500 + os.getpid() % 1000)}
    proc = subprocess.run(['bash', 'tools/dist_train.sh', TOY_CFG, '2', '--work-dir', two,
                           '--cfg-options', *opts, 'train_dataloader.batch_size=4'],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    curve1, curve2 = _loss_curve(one), _loss_curve(two)
    assert len(curve1) == len(curve2) == 8
    assert curve1 == pytest.approx(curve2, rel=1e-4, abs=1e-5)
