"""The GPU check's python part (``bash tools/gpu_check.sh`` sets up the venv, then runs this).

    python tools/gpu_check.py [--out work_dirs/gpu_check] [--tests tests projects]

On a CUDA machine it runs, and records in ``OUT/results.json`` and
``OUT/results.md``:

1. the environment: torch, CUDA, triton, the GPU;
2. ``pytest -m cuda``: the CUDA tests, among them the Triton kernels of
   ``tap3d.ops.triton`` against the torch ops (``tests/test_ops/test_triton_ops.py``);
3. ``tools/analysis/benchmark.py --device cuda --amp`` (bf16 autocast) at the
   paper's batch per GPU, median of 5 steps after 2 warm-up steps: the TAP step
   (PointMLP + TAP head, 32 shapes of 1024 points), 3DETR-m (8 scenes of 40,000
   points), PTv2 m2 (3 scenes of 100,000 points) and the PointMLP backbone (32).
   Each against a second variant in the same run: the torch point ops
   (``TAP3D_TRITON=0``), or for PointMLP its unfused grouping
   (``model.fuse_grouping=False``, more FLOPs, fewer kernel launches);
4. the projected time of one ShapeNet55 pre-training epoch (52,470 shapes) on one
   GPU from the measured TAP step: ``52470 / B * step time`` (model only; the
   data pipeline is not in it).

Tests and benchmarks share a time budget (``--budget``, 420 s): a benchmark
that would start after it is recorded as skipped, so the whole check stays
within about 8 minutes on one H200 with the packages already installed.

Without a CUDA device it does everything before the first CUDA call (the
benchmark configs load, the test paths exist), prints one line starting with
``gpu_check: no CUDA device`` and exits with status 3.

``--device cpu --smoke`` runs the whole chain on the CPU with tiny models and one
step (for the repository's own tests); its numbers mean nothing.
"""
import argparse
import json
import os
import os.path as osp
import platform
import re
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BENCH = osp.join(REPO, 'tools', 'analysis', 'benchmark.py')
NO_CUDA_EXIT = 3
STEPS, WARMUP = 5, 2  # timed and warm-up training steps per variant
SHAPENET55_SHAPES = 52470
TAP_EPOCHS = 100  # the paper's pre-training schedule

# key, label, config, paper batch per GPU, variant B (as benchmark.py arguments), B's label
BENCHMARKS = [
    ('tap', 'TAP step (PointMLP + TAP head)',
     'configs/benchmark/tap_pointmlp_1xb8_synthetic-shapenet55.py', 32,
     ['--vs', '{config}', '--vs-env', 'TAP3D_TRITON=0'], 'torch point ops'),
    ('3detr-m', '3DETR-m detector', 'configs/benchmark/3detr-m_1xb8_synthetic-scannet.py', 8,
     ['--vs', '{config}', '--vs-env', 'TAP3D_TRITON=0'], 'torch point ops'),
    ('ptv2', 'PTv2 m2 segmentor', 'configs/benchmark/ptv2m2_1xb3_synthetic-scannet.py', 3,
     ['--vs', '{config}', '--vs-env', 'TAP3D_TRITON=0'], 'torch point ops'),
    ('pointmlp', 'PointMLP backbone', 'configs/benchmark/pointmlp_1xb8_synthetic-shapenet55.py',
     32, ['--vs-options', 'model.fuse_grouping=False'], 'unfused grouping'),
]
# --smoke: tiny models, so that the chain runs on a CPU in seconds
SMOKE = {
    'tap': (64, [
        'model.backbone.embed_dim=8', 'model.backbone.pre_blocks=(1,1,1,1)',
        'model.backbone.pos_blocks=(1,1,1,1)', 'model.backbone.k_neighbors=(4,4,4,4)',
        'model.head.embed_dims=16', 'model.head.depth=1', 'model.head.num_heads=2',
        'model.head.head_dims=8', 'model.head.img_size=32', 'model.head.obj_size=28',
        'model.head.downsample=8', 'train_dataloader.dataset.num_views=2'
    ]),
    'pointmlp': (64, [
        'model.embed_dim=8', 'model.pre_blocks=(1,1,1,1)', 'model.pos_blocks=(1,1,1,1)',
        'model.k_neighbors=(4,4,4,4)'
    ]),
    '3detr-m': (600, [
        'model.backbone.num_points=32', 'model.backbone.num_samples=8',
        'model.head.num_queries=8', 'model.head.num_layers=1'
    ]),
    'ptv2': (800, [
        'model.backbone.patch_embed_channels=16', 'model.backbone.patch_embed_groups=2',
        'model.backbone.enc_depths=(1,1,1,1)', 'model.backbone.enc_channels=(16,32,32,64)',
        'model.backbone.enc_groups=(2,4,4,8)', 'model.backbone.dec_depths=(1,1,1,1)',
        'model.backbone.dec_channels=(16,16,32,32)', 'model.backbone.dec_groups=(2,2,4,4)',
        'model.backbone.grid_sizes=(0.1,0.2,0.4,0.8)', 'model.head.hidden_channels=16'
    ]),
}


def _environment():
    import torch
    env = dict(date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), host=platform.node(),
               python=platform.python_version(), torch=torch.__version__,
               torch_cuda=torch.version.cuda, cuda_available=torch.cuda.is_available())
    try:
        import triton
        env['triton'] = triton.__version__
    except Exception as err:  # reported, not fatal: the torch ops run without it
        env['triton'] = f'not importable ({type(err).__name__}: {err})'
    return env


def _check_plan(tests):
    """Everything that needs no GPU: the configs load, the test paths exist."""
    from mmengine.config import Config
    for _, label, config, *_ in BENCHMARKS:
        cfg = Config.fromfile(osp.join(REPO, config))
        if 'model' not in cfg:
            raise SystemExit(f'gpu_check: {config} ({label}) has no model')
    for path in tests:
        if not osp.exists(osp.join(REPO, path)):
            raise SystemExit(f'gpu_check: test path {path!r} does not exist')


def run_tests(tests, timeout):
    """``pytest -m cuda`` on ``tests``; returns counts parsed from pytest's summary line."""
    cmd = [sys.executable, '-m', 'pytest', '-m', 'cuda', '-p', 'no:xdist', '-rfE', *tests]
    start = time.time()
    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
        out, code = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or '')
        code = f'timed out after {timeout} s'
    counts = {k: int(n) for n, k in re.findall(
        r'(\d+) (passed|failed|skipped|deselected|errors?|xfailed|xpassed)', out)}
    failures = [line for line in out.splitlines() if line.startswith(('FAILED', 'ERROR'))]
    # pytest exits 5 when nothing was collected, 0 when all passed
    ok = code in (0, 5) and not failures
    return dict(command=' '.join(cmd[1:]), exit=code, ok=ok, counts=counts, failures=failures,
                seconds=round(time.time() - start, 1), tail=out[-3000:] if not ok else '')


def run_benchmark(key, config, batch, extra, device, out_dir, timeout, smoke):
    """One ``benchmark.py`` run (variant A and B); returns its JSON report or an error."""
    out = osp.join(out_dir, f'bench_{key}.json')
    extra = [a.format(config=config) for a in extra]
    cmd = [sys.executable, BENCH, config, '--device', device, '--amp', '--batch-size', str(batch),
           '--steps', str(STEPS), '--warmup', str(WARMUP), '--no-pipeline', '--json', out, *extra]
    if smoke:
        points, options = SMOKE[key]
        cmd += ['--num-points', str(points), '--cfg-options', *options, '--steps', '1',
                '--warmup', '0', '--no-flops']
    start = time.time()
    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(ok=False, error=f'timed out after {timeout} s', command=' '.join(cmd[1:]))
    if proc.returncode != 0 or not osp.exists(out):
        return dict(ok=False, error=(proc.stdout + proc.stderr)[-3000:],
                    command=' '.join(cmd[1:]))
    with open(out) as f:
        report = json.load(f)
    return dict(ok=True, report=report, seconds=round(time.time() - start, 1),
                command=' '.join(cmd[1:]))


def summarise(env, tests, benches, smoke=False):
    """The results dict (JSON) and its markdown table, from the raw step outputs.

    Args:
        env: :func:`_environment`'s dict.
        tests: :func:`run_tests`'s dict.
        benches: ``{key: run_benchmark(...)}``.
        smoke: whether the numbers come from ``--smoke``.
    """
    rows = []
    for key, label, config, batch, _, b_label in BENCHMARKS:
        if key not in benches:  # left out with --only
            continue
        run = benches[key]
        row = dict(key=key, model=label, config=config, variant_b=b_label, ok=run['ok'])
        if row['ok']:
            rep = run['report']
            a, b = rep['variants']['A'], rep['variants'].get('B')
            mem = a['memory'].get('cuda_max_allocated_mb', a['memory']['rss_mb'])
            row.update(batch_size=a['batch_size'], train_s=a['train_s'],
                       train_samples_s=a['train_samples_s'], infer_samples_s=a['infer_samples_s'],
                       peak_mib=mem, train_flops=a.get('train_flops'))
            if b:
                row.update(b_train_s=b['train_s'], speedup_vs_b=b['train_s'] / a['train_s'])
        else:
            row['error'] = run.get('error', '')[-500:]
        rows.append(row)
    results = dict(environment=env, smoke=smoke, tests=tests, benchmarks=rows)
    tap = next((r for r in rows if r['key'] == 'tap' and r['ok']), None)
    if tap:
        epoch_s = SHAPENET55_SHAPES / tap['train_samples_s']
        results['shapenet55_epoch'] = dict(
            shapes=SHAPENET55_SHAPES, batch_size=tap['batch_size'], step_s=tap['train_s'],
            epoch_s_one_gpu=epoch_s, pretrain_h_one_gpu=epoch_s * TAP_EPOCHS / 3600,
            note='model step only (bf16 autocast), no data loading; the paper used 8 GPUs')
    results['ok'] = bool(tests.get('ok')) and all(r['ok'] for r in rows)
    return results, _markdown(results)


def _markdown(results):
    env, tests = results['environment'], results['tests']
    lines = [f"# tap3d GPU check, {env['date']}", '']
    if results['smoke']:
        lines += ['**Smoke run on the CPU: the numbers below mean nothing.**', '']
    lines += [f"torch {env['torch']} (CUDA {env['torch_cuda']}), triton {env['triton']}, "
              f"GPU: {env.get('gpu', 'none')}", '']
    counts = ', '.join(f'{n} {k}' for k, n in tests.get('counts', {}).items())
    lines += [f"`pytest -m cuda`: {'passed' if tests.get('ok') else 'FAILED'} ({counts}; "
              f"{tests.get('seconds')} s)", '']
    for line in tests.get('failures', []):
        lines.append(f'- {line}')
    lines += ['', f'`benchmark.py --device cuda --amp` (bf16), training step, median of {STEPS} '
              f'after {WARMUP} warm-up steps:', '',
              '| model | batch | train s/step | train samples/s | infer samples/s | peak MiB '
              '| variant B | B s/step | speed-up vs B |', '|---|---|---|---|---|---|---|---|---|']
    for r in results['benchmarks']:
        if not r['ok']:
            lines.append(f"| {r['model']} | - | failed: {r.get('error', 'not run')[:80]!r} "
                         f'| | | | | | |')
            continue
        b = (f"{r['b_train_s']:.4f} | {r['speedup_vs_b']:.2f}x" if 'b_train_s' in r else '- | -')
        lines.append(f"| {r['model']} | {r['batch_size']} | {r['train_s']:.4f} | "
                     f"{r['train_samples_s']:.1f} | {r['infer_samples_s']:.1f} | "
                     f"{r['peak_mib']:.0f} | {r['variant_b']} | {b} |")
    epoch = results.get('shapenet55_epoch')
    if epoch:
        lines += ['', f"One ShapeNet55 pre-training epoch ({epoch['shapes']:,} shapes, batch "
                  f"{epoch['batch_size']}) on one GPU: "
                  f"**{epoch['epoch_s_one_gpu'] / 60:.1f} min** "
                  f"({TAP_EPOCHS} epochs: {epoch['pretrain_h_one_gpu']:.1f} h), from the measured "
                  f"step of {epoch['step_s']:.4f} s; {epoch['note']}."]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=osp.join(REPO, 'work_dirs', 'gpu_check'))
    parser.add_argument('--tests', nargs='+', default=['tests', 'projects'],
                        help='paths given to pytest -m cuda')
    parser.add_argument('--device', default='cuda', help=argparse.SUPPRESS)
    parser.add_argument('--smoke', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--only', nargs='+', choices=[b[0] for b in BENCHMARKS],
                        help='run only these benchmarks')
    parser.add_argument('--budget', type=int, default=420,
                        help='seconds for the tests and benchmarks together; steps that would '
                        'start later are recorded as skipped')
    parser.add_argument('--test-timeout', type=int, default=180)
    parser.add_argument('--bench-timeout', type=int, default=150)
    args = parser.parse_args(argv)

    env = _environment()
    _check_plan(args.tests)
    print(f"gpu_check: torch {env['torch']} (CUDA {env['torch_cuda']}), triton {env['triton']}",
          flush=True)
    # ---- the first CUDA call ----
    if args.device == 'cuda':
        if not env['cuda_available']:
            print(f"gpu_check: no CUDA device (torch {env['torch']}, built with CUDA "
                  f"{env['torch_cuda']}): set-up and checks done, stopping before the GPU steps",
                  flush=True)
            return NO_CUDA_EXIT
        import torch
        env['gpu'] = torch.cuda.get_device_name(0)
    os.makedirs(args.out, exist_ok=True)
    deadline = time.time() + args.budget
    print(f"gpu_check: pytest -m cuda {' '.join(args.tests)}", flush=True)
    tests = run_tests(args.tests, min(args.test_timeout, args.budget))
    print(f"gpu_check: tests {'passed' if tests['ok'] else 'FAILED'} {tests['counts']} "
          f"({tests['seconds']} s)", flush=True)
    benches = {}
    for key, label, config, batch, extra, _ in BENCHMARKS:
        if args.only and key not in args.only:
            continue
        batch = 2 if args.smoke else batch
        left = int(deadline - time.time())
        if left < 30:
            benches[key] = dict(ok=False, error=f'skipped: the {args.budget} s budget is spent')
            print(f'gpu_check: benchmark {label} skipped (time budget)', flush=True)
            continue
        print(f'gpu_check: benchmark {label} (batch {batch})', flush=True)
        benches[key] = run_benchmark(key, config, batch, extra, args.device, args.out,
                                     min(args.bench_timeout, left), args.smoke)
        run = benches[key]
        print(f"gpu_check:   {'done' if run['ok'] else 'FAILED: ' + run['error'][-300:]}"
              f"{' in %.0f s' % run['seconds'] if run['ok'] else ''}", flush=True)
    results, table = summarise(env, tests, benches, args.smoke)
    with open(osp.join(args.out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    with open(osp.join(args.out, 'results.md'), 'w') as f:
        f.write(table)
    print(table)
    print(f"gpu_check: wrote {osp.join(args.out, 'results.json')} and results.md", flush=True)
    return 0 if results['ok'] else 1


if __name__ == '__main__':
    sys.path.insert(0, REPO)
    from tap3d.utils.errors import run_tool
    sys.exit(run_tool(main))
