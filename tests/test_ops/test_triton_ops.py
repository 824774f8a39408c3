"""The Triton point ops: interpreter runs on CPU, and the compiled kernels on CUDA.

The interpreter needs ``TRITON_INTERPRET=1`` before ``triton`` is imported,
which a pytest process (parallel workers, other tests importing triton)
cannot promise; so the interpreter cases in ``triton_cases.py`` run in a fresh
``python -m pytest`` process each, in three groups. The ``cuda`` tests run
the compiled kernels against the torch ops in this process.
"""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

pytest.importorskip('triton', reason='triton is not installed (pip install -r '
                    'requirements/tests.txt)')

from tap3d import ops  # noqa: E402
from tap3d.ops import triton as tt  # noqa: E402
from tap3d.ops.triton import dispatch  # noqa: E402

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
CASES = osp.join(HERE, 'triton_cases.py')
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')


def _cases():
    """The helpers of triton_cases.py (its tests skip outside the interpreter)."""
    spec = importlib.util.spec_from_file_location('tap3d_triton_cases', CASES)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize('group', ['fps', 'knn', 'ball_query or route or backbone'])
def test_kernels_in_the_interpreter(group):
    env = dict(os.environ, TRITON_INTERPRET='1', TAP3D_CPU_KERNELS='0')
    env.pop(dispatch.ENV, None)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO, env.get('PYTHONPATH')) if p)
    proc = subprocess.run([sys.executable, '-m', 'pytest', CASES, '-k', group, '-p', 'no:xdist',
                           '-rfEs'], cwd=REPO, env=env, capture_output=True, text=True)
    out = proc.stdout[-8000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, out
    assert ' passed' in out and 'skipped' not in out, out


def test_dispatch_policy(monkeypatch):
    cpu = torch.zeros(1, 4, 3)
    monkeypatch.delenv(dispatch.ENV, raising=False)
    assert not tt.use_triton('knn', cpu)  # CPU tensors run the torch ops by default
    monkeypatch.setenv(dispatch.ENV, 'interpret')
    monkeypatch.delenv('TRITON_INTERPRET', raising=False)
    with pytest.raises(RuntimeError, match='TRITON_INTERPRET=1'):
        tt.use_triton('knn', cpu)
    monkeypatch.setenv('TRITON_INTERPRET', '1')  # (only read here: nothing is launched)
    assert tt.use_triton('knn', cpu)
    assert not tt.use_triton('knn', cpu, k=dispatch.MAX_K + 1)
    monkeypatch.setenv(dispatch.ENV, '0')
    assert not tt.use_triton('knn', cpu)
    monkeypatch.setenv(dispatch.ENV, 'yes')
    with pytest.raises(ValueError, match='TAP3D_TRITON'):
        tt.use_triton('knn', cpu)
    monkeypatch.setenv(dispatch.ENV, 'interpret')
    monkeypatch.setitem(dispatch._STATE, 'ok', False)  # as if triton did not import
    assert not tt.use_triton('knn', cpu)


# ------------------------------------------------------------------ CUDA
# Compiled kernels against the torch ops on CPU (the defined results: the kernels
# round as they do) and, on exact inputs, against the torch ops on the GPU.


@pytest.fixture(scope='module')
def cases():
    return _cases()


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize('batch,n,m', [(4, 1024, 512), (2, 40000, 2048), (3, 1000, 1200)])
def test_cuda_fps_identical_to_torch(batch, n, m, cases, monkeypatch):
    torch.manual_seed(n)
    xyz = torch.rand(batch, n, 3)
    got = ops.furthest_point_sample(xyz.cuda(), m)
    assert got.is_cuda and torch.equal(got.cpu(), ops.furthest_point_sample(xyz, m))
    grid = cases.grid_cloud(batch=2, copies=3)  # exact distances, ties everywhere
    got = ops.furthest_point_sample(grid.cuda(), 80)
    assert torch.equal(got.cpu(), ops.furthest_point_sample(grid, 80))
    monkeypatch.setenv(dispatch.ENV, '0')  # the torch loop on the GPU
    assert torch.equal(got, ops.furthest_point_sample(grid.cuda(), 80))


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize('batch,m,n,k', [(8, 512, 1024, 24), (2, 100, 5000, 16), (2, 30, 9, 16),
                                         (1, 64, 700, 128)])
def test_cuda_knn_matches_torch(batch, m, n, k, cases, monkeypatch):
    torch.manual_seed(n + k)
    query, ref = torch.randn(batch, m, 3), torch.randn(batch, n, 3)
    dist, idx = ops.knn(query.cuda(), ref.cuda(), k)
    e_dist, e_idx = cases.lex_knn(query, ref, k)
    assert dist.is_cuda and torch.equal(dist.cpu(), e_dist) and torch.equal(idx.cpu(), e_idx)
    cases.assert_same_neighbours((dist.cpu(), idx.cpu()), ops.knn(query, ref, k))
    monkeypatch.setenv(dispatch.ENV, '0')
    torch_gpu = ops.knn(query.cuda(), ref.cuda(), k)
    cases.assert_same_neighbours((dist.cpu(), idx.cpu()), tuple(t.cpu() for t in torch_gpu))
    monkeypatch.setenv(dispatch.ENV, 'auto')
    sizes = torch.tensor([300, 1, 0, 2000])
    pts, off = torch.rand(int(sizes.sum()), 3), sizes.cumsum(0)
    got = ops.knn_offset(pts.cuda(), off.cuda(), pts.cuda(), off.cuda(), 16)
    cases.assert_same_neighbours(tuple(t.cpu() for t in got),
                                 ops.knn_offset(pts, off, pts, off, 16))


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize('batch,m,n,radius,k', [(8, 2048, 20000, 0.2, 64), (2, 100, 300, 0.1, 16),
                                                (2, 50, 8, 0.5, 16)])
def test_cuda_ball_query_matches_loop(batch, m, n, radius, k, cases):
    torch.manual_seed(n)
    query, ref = torch.rand(batch, m, 3), torch.rand(batch, n, 3)
    got = ops.ball_query(query.cuda(), ref.cuda(), radius, k)
    assert got.is_cuda
    got = got.cpu()
    rows = slice(0, 40)  # the python loop is slow: the first rows of every cloud
    assert torch.equal(got[:, rows], cases.loop_ball_query(query[:, rows], ref, radius, k))
    # the torch op ranks by the matmul expansion: differences only at the sphere
    expected = ops.ball_query(query, ref, radius, k)
    for b, i in (got != expected).any(-1).nonzero().tolist():
        d2 = cases.exact_sqdist(query[b:b + 1, i:i + 1], ref[b:b + 1]).double()
        assert ((d2 - radius**2).abs() < 1e-5).any(), (b, i)
