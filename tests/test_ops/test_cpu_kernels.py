"""tap3d.ops.cpu.build and group_max: building and loading the kernels, the group max."""
import importlib
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from tap3d.ops.cpu import build as build_module
from tap3d.ops.cpu.build import build, build_dir, build_key, build_lock, cpu_kernels
from tap3d.ops.cpu.group_max import group_max

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# the module (tap3d.ops.cpu.group_max is the function, re-exported)
group_max_module = importlib.import_module('tap3d.ops.cpu.group_max')

needs_kernels = pytest.mark.usefixtures('built_cpu_kernels')  # see conftest.py


@needs_kernels
@pytest.mark.parametrize('shape', [(2, 33, 24, 40), (3, 5, 1, 7), (64, 9)])
def test_group_max_matches_torch(shape):
    assert cpu_kernels() is not None, 'the fused kernels did not build'
    gen = torch.Generator().manual_seed(sum(shape))
    x = torch.randn(*shape, generator=gen)
    grad = torch.randn(*shape[:-2], shape[-1], generator=gen)
    a = x.clone().requires_grad_()
    b = x.clone().requires_grad_()
    out = group_max(a)
    want = b.max(dim=-2)[0]
    assert out.shape == want.shape and torch.equal(out, want)
    out.backward(grad)
    want.backward(grad)
    assert torch.equal(a.grad, b.grad)


@needs_kernels
def test_group_max_ties_and_nan_follow_torch():
    x = torch.relu(torch.randn(4, 6, 24, 16))  # many ties at zero
    x[0, 0, :, 0] = 0.0
    x[1, 2, 5, 3] = float('nan')
    x[1, 2, 9, 3] = float('nan')
    a = x.clone().requires_grad_()
    b = x.clone().requires_grad_()
    out, want = group_max(a), b.max(dim=-2)[0]
    assert torch.equal(out.isnan(), want.isnan())
    assert torch.equal(out.nan_to_num(), want.nan_to_num())
    grad = torch.ones_like(out)
    out.backward(grad)
    want.backward(grad)
    # the same member gets the gradient: the first maximum (or first NaN)
    assert torch.equal(a.grad, b.grad)


def test_group_max_falls_back_to_torch(monkeypatch):
    calls = []
    monkeypatch.setattr(group_max_module, 'cpu_kernels', lambda: calls.append(1))
    x = torch.randn(3, 8, 5)
    assert torch.equal(group_max(x.transpose(0, 1).contiguous().transpose(0, 1)),
                       x.max(dim=-2)[0])  # non-contiguous
    assert torch.equal(group_max(x.double()), x.double().max(dim=-2)[0])
    assert not calls
    assert torch.equal(group_max(x), x.max(dim=-2)[0])  # asked, returned None
    assert calls == [1]


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setenv('TAP3D_CPU_KERNELS', '0')
    assert cpu_kernels() is None


@needs_kernels
def test_failed_build_warns_and_returns_none(tmp_path, monkeypatch):
    monkeypatch.setenv('TAP3D_KERNEL_CACHE', str(tmp_path / 'cache'))
    broken = tmp_path / 'broken.cpp'
    broken.write_text('this is not C++\n')
    with pytest.warns(UserWarning, match='broken.cpp'):
        assert build(str(broken), name='tap3d_test_broken_kernel') is None


@pytest.fixture
def fresh_state(monkeypatch, tmp_path):
    """An empty kernel cache and no kernels loaded in this process."""
    monkeypatch.setenv('TAP3D_KERNEL_CACHE', str(tmp_path / 'cache'))
    monkeypatch.delenv('TAP3D_CPU_KERNELS', raising=False)
    monkeypatch.setattr(build_module, '_STATE', {})
    return tmp_path / 'cache'


def _no_compiling(*args, **kwargs):
    raise AssertionError('a run must not compile the kernels')


def test_a_run_never_compiles(fresh_state, monkeypatch):
    import torch.utils.cpp_extension
    monkeypatch.setattr(torch.utils.cpp_extension, 'load', _no_compiling)
    assert cpu_kernels() is None  # not built: the torch ops run
    assert not fresh_state.exists() or not any(fresh_state.iterdir())


def test_opt_in_build_at_first_use(fresh_state, monkeypatch):
    import torch.utils.cpp_extension
    calls = []
    monkeypatch.setattr(torch.utils.cpp_extension, 'load',
                        lambda **kw: calls.append(kw['build_directory']) or 'module')
    monkeypatch.setenv('TAP3D_CPU_KERNELS', 'build')
    assert cpu_kernels() == 'module' and len(calls) == 1


def test_cache_key_follows_the_source_not_its_path(tmp_path):
    a, b = tmp_path / 'a.cpp', tmp_path / 'sub' / 'b.cpp'
    b.parent.mkdir()
    a.write_text('int x;\n')
    b.write_text('int x;\n')
    assert build_key(str(a)) == build_key(str(b))
    b.write_text('int y;\n')
    assert build_key(str(a)) != build_key(str(b))
    assert build_key() != build_key(str(a))


def test_stale_torch_lock_is_removed_under_the_build_lock(fresh_state, monkeypatch):
    import torch.utils.cpp_extension
    _, folder = build_dir()
    os.makedirs(folder)
    stale = os.path.join(folder, 'lock')  # what a killed torch build leaves behind
    open(stale, 'w').close()
    seen = []
    monkeypatch.setattr(torch.utils.cpp_extension, 'load',
                        lambda **kw: seen.append(os.path.exists(stale)) or 'module')
    assert build(lock_timeout=5) == 'module'
    assert seen == [False]
    assert os.path.isfile(os.path.join(folder, build_module.DONE_MARKER))


_HOLD = """
import os, sys, time
from tap3d.ops.cpu.build import build_lock
with build_lock(sys.argv[1], timeout=5):
    print('held', flush=True)
    time.sleep(60)
"""


def _hold_lock(path):
    proc = subprocess.Popen([sys.executable, '-c', _HOLD, path], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, 'PYTHONPATH': REPO})
    assert proc.stdout.readline().strip() == 'held'
    return proc


def test_a_held_lock_times_out_naming_the_lock_and_holder(tmp_path):
    path = str(tmp_path / '.build.lock')
    proc = _hold_lock(path)
    try:
        start = time.monotonic()
        with pytest.raises(TimeoutError) as err:
            with build_lock(path, timeout=1.0):
                pass
        assert time.monotonic() - start < 10
        assert path in str(err.value) and str(proc.pid) in str(err.value)
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    path = str(tmp_path / '.build.lock')
    proc = _hold_lock(path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with build_lock(path, timeout=2.0):  # acquired at once: the flock died with its holder
        pass


def test_stale_locks_do_not_hang_a_training_run(tmp_path):
    """A build killed mid-way (torch's `lock` and our lock file left behind) must not
    make a later run wait: runs only load finished builds."""
    cache = tmp_path / 'cache'
    env = {**os.environ, 'TAP3D_KERNEL_CACHE': str(cache), 'PYTHONPATH': REPO}
    env.pop('TAP3D_CPU_KERNELS', None)
    folder = subprocess.run(
        [sys.executable, '-c', 'from tap3d.ops.cpu.build import build_dir; print(build_dir()[1])'],
        env=env, capture_output=True, text=True, check=True).stdout.strip()
    os.makedirs(folder)
    for name in ('lock', '.build.lock'):
        with open(os.path.join(folder, name), 'w') as f:
            f.write('12345')
    step = (
        'import torch\n'
        'from tap3d.models.backbones import PointMLP\n'
        "model = PointMLP(in_channels=4, embed_dim=8, k_neighbors=(8, 8), reducers=(2, 2),\n"
        "                 pre_blocks=(1, 1), pos_blocks=(1, 1), dim_expansion=(2, 2))\n"
        "pts = torch.rand(2, 64, 3)\n"
        "out = model(dict(coord=pts, feat=torch.cat([pts, pts[..., 2:]], -1)))\n"
        "out['feats'].sum().backward()\n"
        "print('step done')\n")
    proc = subprocess.run([sys.executable, '-c', step], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and 'step done' in proc.stdout, proc.stderr[-2000:]
    assert 'not built' in proc.stdout + proc.stderr
