"""tools/gpu_check.sh and tools/gpu_check.py without a GPU."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    spec = importlib.util.spec_from_file_location('gpu_check_tool',
                                                  osp.join(REPO, 'tools', 'gpu_check.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the stop on machines without CUDA')
def test_stops_before_the_first_cuda_call(tmp_path):
    env = dict(os.environ, TAP3D_GPU_CHECK_SKIP_INSTALL='1', TAP3D_PYTHON=sys.executable,
               TAP3D_GPU_CHECK_OUT=str(tmp_path / 'out'))
    env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO, env.get('PYTHONPATH')) if p)
    proc = subprocess.run(['bash', osp.join(REPO, 'tools', 'gpu_check.sh')], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == _tool().NO_CUDA_EXIT, proc.stdout + proc.stderr
    assert lines[-1].startswith('gpu_check: no CUDA device'), proc.stdout
    assert not (tmp_path / 'out').exists()  # nothing measured, nothing written


def test_summary_and_epoch_projection():
    tool = _tool()
    env = dict(date='2026-12-04', torch='2.x', torch_cuda='12.x', triton='3.x', gpu='GPU')
    tests = dict(ok=True, counts={'passed': 20, 'deselected': 900}, failures=[], seconds=60)

    def report(train_s, b_train_s):
        variant = dict(batch_size=32, train_s=train_s, train_samples_s=32 / train_s,
                       infer_samples_s=500.0, memory=dict(rss_mb=1.0, cuda_max_allocated_mb=9e3))
        b = dict(variant, train_s=b_train_s)
        return dict(ok=True, report=dict(variants=dict(A=variant, B=b)))

    benches = dict(tap=report(0.1, 0.5), ptv2=dict(ok=False, error='out of memory'))
    results, table = tool.summarise(env, tests, benches)
    epoch = results['shapenet55_epoch']
    assert epoch['epoch_s_one_gpu'] == pytest.approx(52470 / 320)
    assert [r['key'] for r in results['benchmarks']] == ['tap', 'ptv2']
    assert results['benchmarks'][0]['speedup_vs_b'] == pytest.approx(5.0)
    assert not results['ok']  # a failed benchmark fails the check
    assert '| TAP step (PointMLP + TAP head) | 32 | 0.1000 |' in table
    assert 'out of memory' in table and f"{52470 / 320 / 60:.1f} min" in table


@pytest.mark.slow
def test_smoke_chain_on_cpu(tmp_path):
    # the whole chain (tests, a benchmark with its B variant, the report) with a tiny model
    out = tmp_path / 'out'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (REPO, os.environ.get('PYTHONPATH')) if p))
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'gpu_check.py'), '--device', 'cpu', '--smoke',
         '--only', '3detr-m', '--tests', 'tests/test_ops/test_triton_ops.py', '--out', str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((out / 'results.json').read_text())
    assert results['ok'] and results['smoke'] and results['tests']['ok']
    row, = results['benchmarks']
    assert row['key'] == '3detr-m' and row['batch_size'] == 2 and row['speedup_vs_b'] > 0
    assert 'Smoke run on the CPU' in (out / 'results.md').read_text()
