"""Faults that must never pass silently: wrong weights, NaN training, damaged
checkpoints, stalled ranks. Each test runs the real tools on the toy model."""
import os
import os.path as osp
import stat
import subprocess
import sys
import time

import pytest
import torch

from tap3d.utils import load_checkpoint_file

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CFG = osp.join(REPO, 'tests', 'fixtures', 'toy_cls_config.py')


def run_tool(tool, *args, check=True, env=None, timeout=300):
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', tool), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f'{tool} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc


def weights(path):
    return load_checkpoint_file(path)['state_dict']


@pytest.fixture(scope='module')
def toy_run(tmp_path_factory):
    """A 2-epoch run of the toy model (width 16)."""
    work_dir = str(tmp_path_factory.mktemp('toy'))
    run_tool('train.py', TOY_CFG, '--work-dir', work_dir, '--cfg-options',
             'train_cfg.max_epochs=2')
    return work_dir


# ---- 1. a checkpoint of another model is refused --------------------------------------

def _save_variant(src, dst, change):
    ckpt = load_checkpoint_file(src)
    change(ckpt['state_dict'])
    torch.save(ckpt, dst)
    return dst


def test_test_tool_refuses_a_checkpoint_of_another_model(tmp_path, toy_run):
    ckpt = osp.join(toy_run, 'epoch_2.pth')
    # another width: every backbone tensor has another shape
    proc = run_tool('test.py', TOY_CFG, ckpt, '--work-dir', str(tmp_path), '--cfg-options',
                    'model.width=8', check=False)
    assert proc.returncode != 0
    assert 'does not fit ToyPointNet' in proc.stderr and 'epoch_2.pth' in proc.stderr
    assert 'accuracy' not in proc.stdout  # no metric of a random model was reported
    # keys of another model: missing keys always fail
    other = _save_variant(ckpt, str(tmp_path / 'other.pth'), lambda sd: [
        sd.__setitem__('encoder.' + k, sd.pop(k)) for k in list(sd)])
    proc = run_tool('test.py', TOY_CFG, other, '--work-dir', str(tmp_path), check=False)
    assert proc.returncode != 0 and 'keys are missing' in proc.stderr
    assert 'encoder.backbone.0.weight' in proc.stderr  # what the checkpoint holds instead


def test_unexpected_keys_are_listed_and_need_the_flag(tmp_path, toy_run):
    extra = _save_variant(osp.join(toy_run, 'epoch_2.pth'), str(tmp_path / 'extra.pth'),
                          lambda sd: sd.__setitem__('head.photograph.w', torch.zeros(2)))
    proc = run_tool('test.py', TOY_CFG, extra, '--work-dir', str(tmp_path / 'a'), check=False)
    assert proc.returncode != 0
    assert 'head.photograph.w' in proc.stderr and '--allow-unexpected-keys' in proc.stderr
    proc = run_tool('test.py', TOY_CFG, extra, '--work-dir', str(tmp_path / 'b'),
                    '--allow-unexpected-keys')
    out = proc.stdout + proc.stderr
    assert 'head.photograph.w' in out and 'accuracy' in out


def test_load_from_of_another_model_fails(tmp_path, toy_run):
    proc = run_tool('train.py', TOY_CFG, '--work-dir', str(tmp_path), '--cfg-options',
                    f'load_from={osp.join(toy_run, "epoch_2.pth")}', 'model.width=8',
                    'train_cfg.max_epochs=1', check=False)
    assert proc.returncode != 0 and 'does not fit ToyPointNet' in proc.stderr
    assert not osp.exists(osp.join(str(tmp_path), 'epoch_1.pth'))


def test_load_from_of_the_same_model_loads_it(tmp_path, toy_run):
    src = osp.join(toy_run, 'epoch_2.pth')
    run_tool('train.py', TOY_CFG, '--work-dir', str(tmp_path), '--cfg-options',
             f'load_from={src}', 'train_cfg.max_epochs=1', 'optim_wrapper.optimizer.lr=0.0')
    a, b = weights(src), weights(osp.join(str(tmp_path), 'epoch_1.pth'))
    assert all(torch.equal(a[k], b[k]) for k in a)  # lr 0: the loaded weights, unchanged


# ---- 3. non-finite training stops ------------------------------------------------------

def test_nan_loss_stops_the_run_and_keeps_finite_checkpoints(tmp_path):
    work = str(tmp_path)
    # 4 iterations per epoch: a NaN weight before iteration 10 is in epoch 3
    proc = run_tool('train.py', TOY_CFG, '--work-dir', work, '--cfg-options',
                    'custom_hooks.1.before_iter=10', 'default_hooks.checkpoint.max_keep_ckpts=1',
                    check=False)
    assert proc.returncode != 0
    assert 'non-finite training loss' in proc.stderr
    assert 'epoch 3, iteration 10' in proc.stderr and 'epoch_2.pth' in proc.stderr
    assert not osp.exists(osp.join(work, 'epoch_3.pth'))
    kept = weights(osp.join(work, 'epoch_2.pth'))
    assert all(torch.isfinite(v).all() for v in kept.values() if v.is_floating_point())


def test_non_finite_weights_are_never_saved(tmp_path):
    work = str(tmp_path)
    # the loss of the epoch's last iteration is finite, the weights after it are not
    proc = run_tool('train.py', TOY_CFG, '--work-dir', work, '--cfg-options',
                    'custom_hooks.1.after_epoch=2', check=False)
    assert proc.returncode != 0 and 'non-finite weights' in proc.stderr
    assert 'backbone.0.weight' in proc.stderr
    assert osp.exists(osp.join(work, 'epoch_1.pth'))
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))


# ---- 4. resume ----------------------------------------------------------------------------

def test_resume_falls_back_to_the_previous_readable_checkpoint(tmp_path):
    straight, crashed = str(tmp_path / 'straight'), str(tmp_path / 'crashed')
    run_tool('train.py', TOY_CFG, '--work-dir', straight)
    proc = run_tool('train.py', TOY_CFG, '--work-dir', crashed, '--cfg-options',
                    'custom_hooks.0.epoch=3', check=False)
    assert proc.returncode != 0 and osp.exists(osp.join(crashed, 'epoch_3.pth'))
    latest = osp.join(crashed, 'epoch_3.pth')
    with open(latest, 'r+b') as f:  # damaged on disk after it was written
        f.truncate(os.path.getsize(latest) // 2)
    leftover = osp.join(crashed, '.epoch_4.pth.x1y2z3.tmp')  # a write killed mid-way
    open(leftover, 'wb').close()
    proc = run_tool('train.py', TOY_CFG, '--work-dir', crashed, '--resume')
    log = proc.stdout + proc.stderr
    assert 'epoch_3.pth is unreadable; resuming from' in log and 'epoch_2.pth' in log
    assert not osp.exists(leftover)
    a, b = weights(osp.join(straight, 'epoch_4.pth')), weights(osp.join(crashed, 'epoch_4.pth'))
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_checkpoints_get_the_users_normal_permissions(toy_run):
    umask = os.umask(0)
    os.umask(umask)
    mode = stat.S_IMODE(os.stat(osp.join(toy_run, 'epoch_1.pth')).st_mode)
    assert mode == 0o666 & ~umask


# ---- 6. a stalled rank --------------------------------------------------------------------

def test_a_stalled_rank_fails_the_run_after_the_timeout(tmp_path):
    env = {'PORT': str(29500 + (os.getpid() + 7) % 1000)}
    start = time.monotonic()
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', TOY_CFG, '2', '--work-dir', str(tmp_path),
         '--cfg-options', 'custom_hooks.2.iter=3', 'custom_hooks.2.seconds=120',
         'env_cfg.dist_cfg.timeout=5', 'train_dataloader.batch_size=4'],
        cwd=REPO, capture_output=True, text=True, timeout=240, env={**os.environ, **env})
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    assert elapsed < 110, f'the other rank waited {elapsed:.0f} s'
    assert 'train.py: error: a distributed collective timed out after 5 s' in proc.stderr, \
        proc.stderr[-3000:]


def test_launchers_use_the_projects_interpreter(tmp_path):
    """tools/dist_*.sh and slurm_train.sh never call a bare `python` from PATH."""
    def chosen(env):
        base = {k: v for k, v in os.environ.items() if k not in ('PYTHON', 'VIRTUAL_ENV')}
        proc = subprocess.run(['bash', '-c', '. tools/_python.sh; echo "$PYTHON"'], cwd=REPO,
                              capture_output=True, text=True, env={**base, **env}, check=True)
        return proc.stdout.strip()

    fake_venv = tmp_path / 'venv'
    (fake_venv / 'bin').mkdir(parents=True)
    (fake_venv / 'bin' / 'python').write_text('#!/bin/sh\n')
    (fake_venv / 'bin' / 'python').chmod(0o755)
    assert chosen({'PYTHON': '/opt/py/bin/python3'}) == '/opt/py/bin/python3'
    assert chosen({'VIRTUAL_ENV': str(fake_venv)}) == str(fake_venv / 'bin' / 'python')
    repo_venv = osp.join(REPO, '.venv', 'bin', 'python')
    if osp.exists(repo_venv):
        assert chosen({'PATH': '/usr/bin:/bin'}) == repo_venv
    for script in ('dist_train.sh', 'dist_test.sh', 'slurm_train.sh'):
        with open(osp.join(REPO, 'tools', script)) as f:
            text = f.read()
        assert '_python.sh' in text and '"$PYTHON"' in text
        assert not any(line.strip().startswith('python ') for line in text.splitlines())
