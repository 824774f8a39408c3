"""tools/analysis/benchmark.py and its timing helpers (_timing.py) on tiny models."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest

from tools.analysis._timing import clock, peak_memory_mb, sgemm_peak, time_fn

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(REPO, 'configs', 'benchmark')
TINY_MLP = ['model.embed_dim=8', 'model.pre_blocks=(1,1,1,1)', 'model.pos_blocks=(1,1,1,1)',
            'model.k_neighbors=(4,4,4,4)']
TINY_TAP = ['model.backbone.embed_dim=8', 'model.backbone.pre_blocks=(1,1,1,1)',
            'model.backbone.pos_blocks=(1,1,1,1)', 'model.backbone.k_neighbors=(4,4,4,4)',
            'model.head.embed_dims=16', 'model.head.depth=1', 'model.head.num_heads=2',
            'model.head.head_dims=8', 'model.head.img_size=32', 'model.head.obj_size=28',
            'model.head.downsample=8', 'train_dataloader.dataset.num_views=2']
FAST = ['--batch-size', '2', '--num-points', '64', '--steps', '1', '--warmup', '0',
        '--threads', '1', '--in-process', '--no-pipeline']


def _tool():
    path = osp.join(REPO, 'tools', 'analysis', 'benchmark.py')
    spec = importlib.util.spec_from_file_location('benchmark_tool', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_time_fn_counts_warmup_and_steps():
    calls = []
    res = time_fn(lambda: calls.append(1), steps=3, warmup=2, timer='cpu')
    assert len(calls) == 5 and len(res['times_s']) == 3
    assert res['min_s'] <= res['median_s']
    with pytest.raises(ValueError, match='steps'):
        time_fn(lambda: None, steps=0)
    with pytest.raises(ValueError, match='timer'):
        clock('gpu')


def test_sgemm_peak_and_memory():
    peak = sgemm_peak('cpu', size=128, steps=2)
    assert peak['size'] == 128 and peak['gflops'] > 0.01
    assert peak_memory_mb('cpu')['rss_mb'] > 10


def test_pointmlp_fused_vs_unfused(tmp_path):
    out = tmp_path / 'r.json'
    report = _tool().main([osp.join(CFG, 'pointmlp_1xb8_synthetic-shapenet55.py'),
                           '--cfg-options', *TINY_MLP, '--vs-options',
                           'model.fuse_grouping=False', '--json', str(out), *FAST])
    a, b = report['variants']['A'], report['variants']['B']
    assert a['params'] == b['params'] and a['batch_size'] == 2
    assert b['options']['model.fuse_grouping'] is False
    # the fused grouping skips the per-member first layer: fewer FLOPs, same model
    assert 0 < a['train_flops'] < b['train_flops']
    assert a['infer_flops'] < a['train_flops']
    assert report['ratio_A_over_B']['train'] > 0
    assert a['allocator'] == b['allocator'] == 'keep'
    saved = json.loads(out.read_text())
    assert saved['sgemm_peak']['gflops'] > 0 and set(saved['variants']) == {'A', 'B'}


def test_tap_vs_reference_same_flops_and_params():
    fast = osp.join(CFG, 'tap_pointmlp-authors-heads_1xb8_synthetic-shapenet55.py')
    ref = osp.join(CFG, 'tap_pointmlp-reference_1xb8_synthetic-shapenet55.py')
    report = _tool().main([fast, '--vs', ref, '--cfg-options', *TINY_TAP, *FAST])
    a, b = report['variants']['A'], report['variants']['B']
    assert a['model'] == b['model'] == 'TAPPretrainer'
    assert a['params'] == b['params']
    # same architecture; the reference does more matmul work (K/V projected per
    # view, every group member through the first layer)
    assert a['infer_flops'] < b['infer_flops']


def test_allocator_policy_per_variant(tmp_path):
    cfg = osp.join(CFG, 'pointmlp_1xb8_synthetic-shapenet55.py')
    # the command line, each variant in its own process with its own malloc policy
    out = tmp_path / 'r.json'
    isolated = [a for a in FAST if a != '--in-process']
    subprocess.run([sys.executable, osp.join(REPO, 'tools', 'analysis', 'benchmark.py'), cfg,
                    '--cfg-options', *TINY_MLP, '--no-flops', '--vs', cfg, '--vs-allocator',
                    'system', '--json', str(out), *isolated], check=True, cwd=REPO,
                   capture_output=True)
    report = json.loads(out.read_text())
    assert report['variants']['A']['allocator'] == 'keep'
    assert report['variants']['B']['allocator'] == 'system'
    # a malloc policy is per process: two policies need a process per variant
    with pytest.raises(SystemExit):
        _tool().main([cfg, '--cfg-options', *TINY_MLP, '--vs-options', 'model.bias=True',
                      '--vs-allocator', 'system', *FAST])


def test_profile_is_of_a_training_step(monkeypatch):
    import torch.nn as nn
    tool = _tool()
    events = []
    train = nn.Module.train
    monkeypatch.setattr(nn.Module, 'train',
                        lambda self, mode=True: events.append(('mode', mode)) or train(self, mode))
    monkeypatch.setattr(tool, '_profile',
                        lambda step, rows: events.append(('profile', rows)) or 'table')
    tool.main([osp.join(CFG, 'pointmlp_1xb8_synthetic-shapenet55.py'), '--cfg-options',
               *TINY_MLP, '--no-flops', '--profile', '5', *FAST])
    # the last mode set before the profiled step is train mode (batch statistics, dropout)
    before = events[:events.index(('profile', 5))]
    assert [e for e in before if e[0] == 'mode'][-1] == ('mode', True)


def test_environment_per_variant_and_repeated_rounds(tmp_path):
    cfg = osp.join(CFG, 'pointmlp_1xb8_synthetic-shapenet55.py')
    out = tmp_path / 'r.json'
    isolated = [a for a in FAST if a != '--in-process']
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'analysis', 'benchmark.py'), cfg,
         '--cfg-options', *TINY_MLP, '--no-flops', '--vs', cfg, '--vs-env', 'TAP3D_CPU_KERNELS=0',
         '--repeat', '2', '--json', str(out), *isolated], cwd=REPO, capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    a, b = report['variants']['A'], report['variants']['B']
    assert a['env'] == {} and b['env'] == {'TAP3D_CPU_KERNELS': '0'}
    assert len(a['rounds']) == len(b['rounds']) == 2
    assert len(report['ratio_A_over_B']['train_rounds']) == 2
    assert min(r['train_s'] for r in a['rounds']) <= a['train_s'] <= max(
        r['train_s'] for r in a['rounds'])
    assert 'TAP3D_CPU_KERNELS=0' in proc.stdout and 'per round' in proc.stdout
    with pytest.raises(ValueError, match='KEY=VALUE'):
        _tool()._parse_env(['TAP3D_CPU_KERNELS'])
    with pytest.raises(SystemExit):  # an environment is per process
        _tool().main([cfg, '--cfg-options', *TINY_MLP, '--env', 'X=1', *FAST])


def test_op_times_table(capsys):
    _tool().main([osp.join(CFG, 'pointmlp_1xb8_synthetic-shapenet55.py'), '--cfg-options',
                  *TINY_MLP, '--no-flops', '--op-times', '200', *FAST])
    out = capsys.readouterr().out
    table = out[out.index('--- op_times of A'):].splitlines()
    assert 'one training step under the op timer' in table[1]
    rows = []
    for line in table[3:]:  # the table ends where the next output starts
        if not line.strip() or not line.split()[0].replace('.', '').isdigit():
            break
        rows.append(line)
    assert 6 <= len(rows) <= 200
    times = [float(r.split()[0]) for r in rows]
    assert times == sorted(times, reverse=True)
    assert any(' mm [' in r and r.split()[2].isdigit() for r in rows)  # matmul GFLOP/s


def test_bad_option_is_reported():
    with pytest.raises(ValueError, match='key=value'):
        _tool()._parse_options(['model.depth'])


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    from tap3d.datasets.synthetic.objects import write_synthetic_shapenet55
    path = str(tmp_path_factory.mktemp('shapenet55'))
    write_synthetic_shapenet55(path, num_per_class=4, categories=('chair', ), progress=False)
    return path


def test_pipeline_throughput(tiny_root):
    res = _tool().measure_pipeline(
        osp.join(CFG, 'tap_pointmlp_1xb8_synthetic-shapenet55.py'),
        {'train_dataloader.dataset.data_root': tiny_root,
         'train_dataloader.dataset.splits': ('train', 'val', 'test')},
        workers=0, batches=2, batch_size=1)
    assert res['batch_size'] == 1 and res['per_worker_samples_s'] > 0
    assert res['samples_s'] == res['per_worker_samples_s']


def test_ops_and_layers_benchmark_report_same_results(capsys):
    path = osp.join(REPO, 'tools', 'analysis', 'benchmark_ops.py')
    spec = importlib.util.spec_from_file_location('benchmark_ops_tool', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(['--batch-size', '2', '--num-points', '64', '--num-samples', '16', '--k', '4',
              '--warmup', '0', '--repeats', '1', '--threads', '1', '--layers'])
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith(('FPS', 'kNN', 'dropout', 'BN', 'group max'))]
    assert len(rows) == 6
    # every row: both timings and the equivalence check of the two implementations
    assert all(row.rstrip().endswith('True') and 'x' in row for row in rows), rows


def _assert_counts(variant):
    assert set(variant['counts']) == {'cpu', 'cuda', 'cuda_triton', 'cuda_ext'}
    for counts in variant['counts'].values():
        assert counts['total'] > 0
        assert sum(counts['phases'].values()) == counts['total']
        assert set(counts['phases']) == {'forward', 'backward', 'optimizer'}


def test_count_ops_pointmlp_against_reference(tmp_path):
    import os
    out = tmp_path / 'counts.json'
    env_before = os.environ.get('TAP3D_CPU_KERNELS')
    report = _tool().main([
        osp.join(CFG, 'pointmlp_1xb8_synthetic-shapenet55.py'), '--cfg-options', *TINY_MLP,
        '--vs', osp.join(CFG, 'pointmlp-reference_1xb8_synthetic-shapenet55.py'), '--count-ops',
        '--json', str(out), *FAST])
    a, b = report['variants']['A'], report['variants']['B']
    _assert_counts(a)
    _assert_counts(b)
    ca, cb = a['counts'], b['counts']
    # 64 points, 4 stages of FPS (32 + 16 + 8 + 4 centres) and kNN: the torch FPS loop
    # dispatches several ops per centre, the Triton path one launch per op
    assert ca['cuda']['point_ops']['furthest_point_sample'] > 5 * 60
    assert ca['cuda_triton']['point_ops'] == {'furthest_point_sample': 4, 'knn': 4}
    assert ca['cuda_triton']['total'] < ca['cuda']['total'] < ca['cpu']['total']
    # foreach AdamW on CUDA: a few ops instead of a loop over the parameters
    assert ca['cuda']['phases']['optimizer'] < ca['cpu']['phases']['optimizer'] / 10
    # the reference runs its python FPS loop, counted as pointnet2_ops' one launch
    assert cb['cuda_ext']['point_ops'] == {'furthest_point_sample': 4}
    assert cb['cuda_ext']['total'] < cb['cuda']['total']
    assert json.loads(out.read_text())['variants']['A']['counts']['cpu'] == ca['cpu']
    # the fused CPU kernels are off while counting, and only then
    assert os.environ.get('TAP3D_CPU_KERNELS') == env_before


@pytest.mark.parametrize('config,points,options,point_ops', [
    # pre-encoder and interim set abstraction (FPS + ball query each), FPS of the queries
    ('3detr-m_1xb8_synthetic-scannet.py', 600,
     ['model.backbone.num_points=32', 'model.backbone.num_samples=8', 'model.head.num_queries=8',
      'model.head.num_layers=1'], {'furthest_point_sample': 3, 'ball_query': 2}),
    ('ptv2m2_1xb3_synthetic-scannet.py', 700,
     ['model.backbone.enc_depths=(1,1,1,1)', 'model.backbone.dec_depths=(1,1,1,1)',
      'model.backbone.enc_channels=(16,32,32,64)', 'model.backbone.enc_groups=(2,4,4,8)',
      'model.backbone.dec_channels=(16,16,32,32)', 'model.backbone.dec_groups=(2,2,4,4)',
      'model.backbone.patch_embed_channels=16', 'model.backbone.patch_embed_groups=2',
      'model.backbone.grid_sizes=(0.1,0.2,0.4,0.8)', 'model.head.hidden_channels=16'], None),
])
def test_count_ops_scene_models(config, points, options, point_ops):
    fast = FAST[:2] + FAST[4:]  # without --num-points
    report = _tool().main([osp.join(CFG, config), '--cfg-options', *options, '--count-ops',
                           '--num-points', str(points), *fast])
    a = report['variants']['A']
    _assert_counts(a)
    assert a['num_points'] == points and a['batch_size'] == 2
    triton, torch_ops = a['counts']['cuda_triton'], a['counts']['cuda']
    assert triton['total'] < torch_ops['total']
    if point_ops:
        assert triton['point_ops'] == point_ops
    else:  # PTv2: one kNN launch per knn_offset call, where torch loops over the samples
        assert set(triton['point_ops']) == {'knn_offset'}
        assert torch_ops['point_ops']['knn_offset'] > 2 * triton['point_ops']['knn_offset']
    assert a['counts']['cuda_ext']['total'] == triton['total']


def test_count_ops_knows_the_device_dependent_paths():
    # _op_count.py counts CPU-only paths of the models as CUDA runs them (dropout, the
    # PointMLP group std; the fused CPU kernels are off) and the Triton dispatch in its
    # cuda_triton mode: a new device-dependent path must be added there
    import os
    import re
    sites = set()
    for package in ('models', 'ops'):
        for root, _, files in os.walk(osp.join(REPO, 'tap3d', package)):
            for name in files:
                path = osp.join(root, name)
                if name.endswith('.py'):
                    with open(path) as f:
                        if re.search(r'device\.type\s*[!=]=', f.read()):
                            sites.add(osp.relpath(path, osp.join(REPO, 'tap3d')))
    assert sites == {'ops/cpu/bn_act.py', 'ops/cpu/group_max.py', 'ops/cpu/dropout.py',
                     'models/backbones/pointmlp.py', 'ops/triton/ops.py'}
