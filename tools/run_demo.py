"""The main job on tap3d's embedded synthetic world, start to finish.

1. write the synthetic world (procedural shapes with rendered views, ScanObjectNN-style
   h5 files, ...) under ``data/synthetic`` (skipped when present);
2. TAP pre-training of a CPU-sized PointMLP on the ShapeNet55-layout shapes;
3. fine-tuning on the ScanObjectNN-style data (PB_T50_RS variant), once from scratch
   and once from the TAP checkpoint, with the same seed and budget;
4. a results table (``work_dirs/demo/results.md`` and ``.json``) and the view grids
   of the pre-training (``work_dirs/demo/views_*.png``).

Usage: ``python tools/run_demo.py [--quick]`` (``--quick`` trains one epoch per stage, a
smoke test). ``bash tools/run_demo.sh`` installs everything first.
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
# OpenMP threads that spin while waiting make torch several times slower whenever
# another process shares the cores; passive waiting costs nothing on an idle machine.
# (Must be set before torch is imported.)
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

PRETRAIN_CFG = 'configs/tap/synthetic/tap_pointmlp_synthetic-cpu.py'
FINETUNE_CFG = 'configs/pointmlp/synthetic/pointmlp-cpu_1xb16-cosine_synthetic-scanobjectnn.py'
# the configs above read their data from here
DATA_ROOT = 'data/synthetic'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--quick', action='store_true', help='one epoch per stage (smoke test)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def make_data(data_root: str) -> None:
    """Write the synthetic world; create_data skips what is already complete."""
    cmd = [sys.executable, 'tools/create_data.py', 'synthetic', '--out', data_root]
    print('[demo] ' + ' '.join(cmd), flush=True)
    # its error line becomes this tool's, so that a failure still ends in one line
    proc = subprocess.run(cmd, cwd=REPO, stderr=subprocess.PIPE, text=True)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    if proc.returncode != 0:
        from tap3d.utils.errors import UserError
        raise UserError('tools/create_data.py synthetic failed: '
                        + (lines[-1] if lines else f'exit code {proc.returncode}'))
    sys.stderr.write(proc.stderr)


def run(cfg_path: str, work_dir: str, options: dict, mode: str = 'train') -> dict:
    """Train (then test) one config in this process; returns the test metrics."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    cfg = Config.fromfile(osp.join(REPO, cfg_path))
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    cfg.experiment_name = osp.basename(work_dir)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test() if cfg.get('test_dataloader') else {}
    return dict(metrics or {})


def last_scalar(work_dir: str, key: str):
    paths = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not paths:
        return None
    value = None
    with open(paths[-1]) as f:
        for line in f:
            row = json.loads(line)
            if key in row:
                value = row[key]
    return value


def first_scalar(work_dir: str, key: str):
    paths = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not paths:
        return None
    with open(paths[-1]) as f:
        for line in f:
            row = json.loads(line)
            if key in row:
                return row[key]
    return None


def main():
    args = parse_args()
    os.chdir(REPO)
    from tap3d.ops.cpu.allocator import configure_cpu_allocator
    from tap3d.utils import register_all_modules
    configure_cpu_allocator()  # reuse freed memory (TAP3D_CPU_ALLOCATOR=system opts out)
    register_all_modules(init_default_scope=False)

    start = time.time()
    make_data(DATA_ROOT)
    t_data = time.time() - start

    quick = dict(train_cfg=dict(max_epochs=1)) if args.quick else {}
    seed = dict(randomness=dict(seed=args.seed, deterministic=False))
    root = args.work_dir
    pre_dir = osp.join(root, 'tap_pretrain')
    t0 = time.time()
    done_marker = osp.join(pre_dir, 'pretrain_done.json')
    if osp.exists(done_marker) and not args.quick:
        # a finished pre-training is reused: delete work_dirs/demo to start afresh
        with open(done_marker) as f:
            done = json.load(f)
        pre_metrics, tap_ckpt, t_pre = done['metrics'], done['checkpoint'], done['seconds']
        print(f'[demo] reusing the finished pre-training {tap_ckpt}')
    else:
        pre_metrics = run(PRETRAIN_CFG, pre_dir, {**quick, **seed})
        t_pre = time.time() - t0
        ckpts = sorted(glob.glob(osp.join(pre_dir, 'epoch_*.pth')),
                       key=lambda p: int(p.rsplit('_', 1)[1][:-4]))
        tap_ckpt = ckpts[-1]
        with open(done_marker, 'w') as f:
            json.dump(dict(metrics=pre_metrics, checkpoint=tap_ckpt, seconds=t_pre), f)

    results = {}
    for name, init in (('scratch', None), ('tap', tap_ckpt)):
        opts = {**quick, **seed}
        if init is not None:
            opts['model.backbone.init_cfg'] = dict(type='CheckedPretrained', checkpoint=init,
                                                   prefix='backbone.')
        t0 = time.time()
        metrics = run(FINETUNE_CFG, osp.join(root, f'finetune_{name}'), opts)
        results[name] = dict(metrics=metrics, seconds=time.time() - t0)

    grids = sorted(glob.glob(osp.join(pre_dir, 'vis_views', '*.png')))
    for path in grids[:1] + grids[-1:]:
        shutil.copy(path, osp.join(root, 'views_' + osp.basename(path)))

    summary = dict(
        pretrain=dict(config=PRETRAIN_CFG, checkpoint=tap_ckpt, seconds=t_pre,
                      first_loss=first_scalar(pre_dir, 'loss_view'),
                      last_loss=last_scalar(pre_dir, 'loss_view'), val=pre_metrics),
        finetune={k: v for k, v in results.items()}, data_seconds=t_data,
        total_seconds=time.time() - start, quick=args.quick)
    with open(osp.join(root, 'results.json'), 'w') as f:
        json.dump(summary, f, indent=2, default=str)

    def fmt(x, spec='.4f'):
        return 'n/a' if x is None else format(x, spec)

    oa = {k: v['metrics'].get('cls/overall_acc') for k, v in results.items()}
    macc = {k: v['metrics'].get('cls/mean_acc') for k, v in results.items()}
    lines = [
        '| stage | result |', '|---|---|',
        f"| TAP pre-training view loss (first → last logged) | "
        f"{fmt(summary['pretrain']['first_loss'])} → {fmt(summary['pretrain']['last_loss'])} |",
        f"| fine-tune from scratch: OA / mAcc (%) | {fmt(oa['scratch'], '.2f')} / "
        f"{fmt(macc['scratch'], '.2f')} |",
        f"| fine-tune from TAP: OA / mAcc (%) | {fmt(oa['tap'], '.2f')} / "
        f"{fmt(macc['tap'], '.2f')} |",
        f"| wall time: data / pre-train / fine-tune ×2 (s) | {t_data:.0f} / {t_pre:.0f} / "
        f"{results['scratch']['seconds']:.0f} + {results['tap']['seconds']:.0f} |",
    ]
    table = '\n'.join(lines)
    with open(osp.join(root, 'results.md'), 'w') as f:
        f.write(table + '\n')
    print('\n' + table)
    print(f'\n[demo] results, checkpoints and view grids are in {root}/')


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
