"""Speed of ``tools/test.py`` on a full model converted from an upstream release.

    python tools/analysis/converted_test_speed.py [--config CONFIG] [--samples 320]
        [--points 2048] [--batch-size 64] [--work-dir work_dirs/converted_test_speed]
        [--json out.json]

What it does, end to end, with the commands a user runs:

1. writes a ScanObjectNN PB_T50_RS test file of ``--samples`` random objects of
   ``--points`` points (``main_split/test_objectdataset_augmentedrot_scale75.h5``:
   ``data`` (S, P, 3) float32, ``label`` (S,) uint8; data/README.md);
2. writes a checkpoint in the TAP authors' release format (openpoints:
   ``{'model': state dict, 'epoch', 'best_val', ...}``) with the keys and shapes of
   their PointMLP ScanObjectNN fine-tune (``tests/data/model_converters/tap.json``)
   and random values of a realistic scale;
3. converts it: ``python tools/model_converters/tap.py IN OUT``;
4. evaluates it: ``python tools/test.py CONFIG OUT --cfg-options
   test_dataloader.dataset.data_root=... test_dataloader.batch_size=B
   default_hooks.logger.interval=1 log_processor.window_size=1``, so that mmengine
   logs every test iteration's own wall time (data wait included);
5. reports samples/s = B / median iteration time, over the full batches after the
   first (the first one also starts the dataloader workers), with the machine's load
   (``os.getloadavg``) before and after, the torch threads and the date, and the CPU
   time of the whole ``tools/test.py`` run (its dataloader workers included) over its
   wall time: the cores it actually got on a shared machine.

The accuracy it prints is meaningless (random weights); only the time is read.
The test pipeline is the config's own: FPS to 1024 of the file's points, height,
normalisation, one pass without voting.
"""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

import h5py
import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = ('configs/pointmlp/'
                  'pointmlp_tap-shapenet55-pre_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py')
LAYOUTS = osp.join(REPO, 'tests', 'data', 'model_converters', 'tap.json')
LAYOUT = 'cfgs/scanobjectnn/pointmlp_finetune.yaml'
# "Epoch(test) [ 3/5]    eta: 0:00:41  time: 20.1234  data_time: 0.0123"
TEST_ITER = re.compile(r'Epoch\(test\)\s*\[\s*(\d+)/(\d+)\].*?\btime: ([0-9.]+)\s+'
                       r'data_time: ([0-9.]+)')


def write_pb_t50_rs(root: str, samples: int, points: int, seed: int = 0) -> str:
    """Write ``ROOT/main_split/test_objectdataset_augmentedrot_scale75.h5``.

    Each object is an anisotropic Gaussian blob (S, P, 3) in file units, labels in
    [0, 15). Returns the file's path.
    """
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.2, 1.0, size=(samples, 1, 3))
    data = (rng.standard_normal((samples, points, 3)) * scale).astype(np.float32)
    label = rng.integers(0, 15, size=samples).astype(np.uint8)
    folder = osp.join(root, 'main_split')
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, 'test_objectdataset_augmentedrot_scale75.h5')
    with h5py.File(path, 'w') as f:
        f.create_dataset('data', data=data)
        f.create_dataset('label', data=label)
    return path


def authors_state_dict(layout: Dict[str, List[int]], seed: int = 0) -> Dict[str, torch.Tensor]:
    """Random tensors with the upstream keys and shapes, of a realistic scale.

    Norm layers start near identity (weights near 1, running variances in [1, 1.2]);
    other weights have a 1 / sqrt(fan-in) scale, so the activations stay finite.
    """
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape in layout.items():
        if key.endswith('num_batches_tracked'):
            out[key] = torch.tensor(0)
            continue
        r = torch.randn(shape, generator=gen)
        if key.endswith('running_var'):
            out[key] = 1 + 0.2 * torch.rand(shape, generator=gen)
        elif len(shape) == 1 and key.endswith('weight'):
            out[key] = 1 + 0.1 * r
        elif len(shape) <= 1 or 'affine_beta' in key:
            out[key] = 0.1 * r
        else:
            out[key] = r / max(int(np.prod(shape[1:])), 1) ** 0.5
    return out


def write_authors_checkpoint(path: str, seed: int = 0) -> str:
    """The authors' PointMLP PB_T50_RS fine-tune format, with random weights."""
    with open(LAYOUTS) as f:
        layout = json.load(f)['layouts'][LAYOUT]
    torch.save({'model': authors_state_dict(layout, seed), 'epoch': 300,
                'best_val': 0.0}, path)
    return path


def parse_test_log(text: str) -> List[Dict[str, float]]:
    """The per-iteration ``time`` / ``data_time`` lines of a ``tools/test.py`` log."""
    rows = []
    for m in TEST_ITER.finditer(text):
        rows.append(dict(iter=int(m.group(1)), iters=int(m.group(2)),
                         time=float(m.group(3)), data_time=float(m.group(4))))
    return rows


def samples_per_second(rows: List[Dict[str, float]], batch_size: int,
                       samples: int) -> Dict[str, float]:
    """B / median time over the full batches after the first one.

    Raises:
        ValueError: fewer than two full batches were logged.
    """
    full = [r for r in rows if r['iter'] * batch_size <= samples and r['iter'] > 1]
    if not full:
        raise ValueError(f'need at least 2 full batches of {batch_size} (got {len(rows)} '
                         f'logged iterations for {samples} samples)')
    times = [r['time'] for r in full]
    med = statistics.median(times)
    return dict(samples_per_s=batch_size / med, median_iter_s=med, min_iter_s=min(times),
                max_iter_s=max(times), timed_iters=len(times),
                median_data_time_s=statistics.median(r['data_time'] for r in full))


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or the platform's machine type."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _run(cmd: List[str], env: dict) -> str:
    """Run a tool; its output, or one error line naming it with its last stderr line."""
    from tap3d.utils.errors import UserError
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ['(no output)'])[-1]
        last = last.replace(' (set TAP3D_DEBUG=1 for the traceback)', '')
        raise UserError(f'{osp.basename(cmd[1])} exited with status {proc.returncode}: {last}')
    return proc.stdout + proc.stderr


def main(argv: Optional[List[str]] = None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--samples', type=int, default=320)
    parser.add_argument('--points', type=int, default=2048)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--work-dir', default='work_dirs/converted_test_speed')
    parser.add_argument('--json', help='also write the result here')
    args = parser.parse_args(argv)
    work = osp.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    data_root = osp.join(work, 'ScanObjectNN')
    write_pb_t50_rs(data_root, args.samples, args.points)
    upstream = write_authors_checkpoint(osp.join(work, 'authors_pointmlp_pb_t50_rs.pth'))
    converted = osp.join(work, 'tap_pointmlp_pb_t50_rs.pth')
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    report = _run([sys.executable, 'tools/model_converters/tap.py', upstream, converted], env)
    summary = [line for line in report.splitlines() if line.startswith('converted ')]
    load_before = os.getloadavg()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    log = _run([sys.executable, 'tools/test.py', args.config, converted, '--work-dir',
                osp.join(work, 'test'), '--cfg-options',
                f'test_dataloader.dataset.data_root={data_root}',
                f'test_dataloader.batch_size={args.batch_size}',
                'default_hooks.logger.interval=1', 'log_processor.window_size=1'], env)
    wall = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    load_after = os.getloadavg()
    speed = samples_per_second(parse_test_log(log), args.batch_size, args.samples)
    result = dict(
        config=args.config, samples=args.samples, points_in_file=args.points,
        batch_size=args.batch_size, conversion=summary[-1] if summary else None,
        test_py_wall_s=round(wall, 1), test_py_cpu_s=round(cpu, 1),
        cores_used=round(cpu / wall, 2), torch=torch.__version__,
        torch_threads=torch.get_num_threads(), cpus=os.cpu_count(),
        machine=cpu_model(),
        loadavg_before=[round(x, 2) for x in load_before],
        loadavg_after=[round(x, 2) for x in load_after],
        date=datetime.datetime.now().strftime('%Y-%m-%d %H:%M'), **speed)
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    sys.path.insert(0, REPO)
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
