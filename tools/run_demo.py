"""The main job on tap3d's embedded synthetic world, start to finish, for one or more seeds.

1. write the synthetic world's ShapeNet55-layout shapes (with rendered views) and
   ScanObjectNN-style h5 files under ``data/synthetic`` (complete files are kept);
2. for each seed: TAP pre-training of a CPU-sized PointMLP on the ShapeNet55-layout
   shapes, scored on the test split against the mean-view baseline (for each pose,
   the average training view);
3. for each seed: fine-tuning on the ScanObjectNN-style data (PB_T50_RS variant), once
   from scratch and once from that seed's TAP checkpoint, same seed and budget;
4. a report: per-seed values, mean ± standard deviation over the seeds and the paired
   difference TAP − scratch (``results.md`` / ``results.json``), a plot of the
   validation accuracy per epoch of both arms and all seeds (``val_accuracy.png``)
   and the view grids of each pre-training (``seed_S/views_*.png``).

Usage::

    python tools/run_demo.py                  # one seed (0): the main job
    python tools/run_demo.py --seeds 0 1 2    # the comparison for three seeds
    python tools/run_demo.py --quick --tiny   # smoke test: tiny world, one epoch each

``bash tools/run_demo.sh`` installs everything first. A finished pre-training of a
seed is reused when the demo runs again with the same settings (delete its folder
to start afresh).
"""
import argparse
import glob
import hashlib
import json
import os
import os.path as osp
import platform
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
ARMS = ('scratch', 'tap')
# (key in results, metric, label) of the report's columns
VIEW_KEYS = (('fg_iou', 'view/fg_iou', 'view fg IoU'), ('mse', 'view/mse', 'view MSE'),
             ('loss', 'view/loss', 'view loss'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='one full comparison per seed (default: 0)')
    parser.add_argument('--quick', action='store_true', help='one epoch per stage (smoke test)')
    parser.add_argument('--tiny', action='store_true',
                        help='the tiny synthetic world (seconds to write; for tests)')
    parser.add_argument('--data-root', default=None,
                        help='synthetic world (default data/synthetic, data/synthetic_tiny '
                        'with --tiny)')
    args = parser.parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds: each seed once, got {args.seeds}')
    if args.data_root is None:
        args.data_root = 'data/synthetic_tiny' if args.tiny else 'data/synthetic'
    return args


def make_data(data_root: str, tiny: bool) -> None:
    """Write the demo's part of the synthetic world; complete files are kept."""
    cmd = [sys.executable, 'tools/create_data.py', 'synthetic', '--out', data_root,
           '--only', 'shapenet55,scanobjectnn']
    if tiny:
        cmd.append('--tiny')
    print('[demo] ' + ' '.join(cmd), flush=True)
    # its error line becomes this tool's, so that a failure still ends in one line
    proc = subprocess.run(cmd, cwd=REPO, stderr=subprocess.PIPE, text=True)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    if proc.returncode != 0:
        from tap3d.utils.errors import UserError
        raise UserError('tools/create_data.py synthetic failed: '
                        + (lines[-1] if lines else f'exit code {proc.returncode}'))
    sys.stderr.write(proc.stderr)


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages (other jobs sharing the machine)."""
    try:
        with open('/proc/loadavg') as f:
            return ' '.join(f.read().split()[:3])
    except OSError:
        return 'n/a'


def run(cfg_path: str, work_dir: str, options: dict) -> dict:
    """Train then test one config in this process.

    Returns:
        dict: ``metrics`` (the test metrics), ``iters`` (training iterations),
        ``seconds`` (training + test wall time) and the load averages before and after.
    """
    from mmengine.config import Config
    from mmengine.runner import Runner

    cfg = Config.fromfile(osp.join(REPO, cfg_path))
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    cfg.experiment_name = osp.basename(work_dir)
    # the visualizer is a named global instance: each run needs its own, or the later
    # runs would write their scalars into the first run's folder
    cfg.visualizer.name = f'demo:{osp.abspath(work_dir)}'
    load_before, start = loadavg(), time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    train_seconds = time.time() - start
    metrics = runner.test() if cfg.get('test_dataloader') else {}
    return dict(metrics={k: float(v) for k, v in (metrics or {}).items()}, iters=runner.iter,
                train_seconds=train_seconds, seconds=time.time() - start,
                load_before=load_before, load_after=loadavg())


def scalar_rows(work_dir: str) -> list:
    """The rows of a run's scalars.json (latest run in ``work_dir``)."""
    paths = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not paths:
        return []
    with open(paths[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def data_options(data_root: str, sub: str) -> dict:
    """cfg options that point a config's three datasets at ``data_root/sub``."""
    return {f'{loader}.dataset.data_root': osp.join(data_root, sub)
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')}


def pretrain(args, seed: int, seed_dir: str) -> dict:
    """TAP pre-training of one seed (reused when finished with the same settings)."""
    from mmengine.config import Config
    pre_dir = osp.join(seed_dir, 'tap_pretrain')
    # the config's full text: an edited config is not mistaken for a finished run
    text = Config.fromfile(osp.join(REPO, PRETRAIN_CFG)).pretty_text
    settings = dict(config=PRETRAIN_CFG, config_sha1=hashlib.sha1(text.encode()).hexdigest(),
                    seed=seed, quick=args.quick, data_root=args.data_root)
    marker = osp.join(pre_dir, 'pretrain_done.json')
    if osp.exists(marker):
        with open(marker) as f:
            done = json.load(f)
        if done.get('settings') == settings and osp.isfile(done['checkpoint']):
            print(f"[demo] seed {seed}: reusing the finished pre-training {done['checkpoint']}")
            return done
    options = {**data_options(args.data_root, 'ShapeNet55'),
               'randomness': dict(seed=seed, deterministic=False)}
    if args.quick:
        options['train_cfg.max_epochs'] = 1
        options['train_cfg.val_interval'] = 1
    result = run(PRETRAIN_CFG, pre_dir, options)
    ckpts = sorted(glob.glob(osp.join(pre_dir, 'epoch_*.pth')),
                   key=lambda p: int(p.rsplit('_', 1)[1][:-4]))
    rows = scalar_rows(pre_dir)
    losses = [r['loss_view'] for r in rows if 'loss_view' in r]
    grids = sorted(glob.glob(osp.join(pre_dir, 'vis_views', '*.png')))
    for path in grids[:1] + grids[-1:]:
        shutil.copy(path, osp.join(seed_dir, 'views_' + osp.basename(path)))
    done = dict(result, checkpoint=ckpts[-1], settings=settings,
                first_loss=losses[0] if losses else None,
                last_loss=losses[-1] if losses else None,
                grid=osp.join(seed_dir, 'views_' + osp.basename(grids[-1])) if grids else None)
    with open(marker, 'w') as f:
        json.dump(done, f, indent=2)
    return done


def finetune(args, seed: int, seed_dir: str, arm: str, checkpoint: str) -> dict:
    """Fine-tune from scratch or from the TAP checkpoint; adds the validation curve."""
    options = {**data_options(args.data_root, 'ScanObjectNN'),
               'randomness': dict(seed=seed, deterministic=False)}
    if args.quick:
        options['train_cfg.max_epochs'] = 1
    if arm == 'tap':
        options['model.backbone.init_cfg'] = dict(type='CheckedPretrained', checkpoint=checkpoint,
                                                  prefix='backbone.')
    work_dir = osp.join(seed_dir, f'finetune_{arm}')
    result = run(FINETUNE_CFG, work_dir, options)
    result['val_curve'] = [[r['step'], r['cls/overall_acc']] for r in scalar_rows(work_dir)
                           if 'cls/overall_acc' in r]
    return result


def mean_std(values):
    """(mean, sample standard deviation; 0 for one value) of a list of floats."""
    import numpy as np
    values = np.asarray(values, dtype=np.float64)
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return float(values.mean()), std


def summarize(per_seed: dict) -> dict:
    """Per-quantity lists over the seeds and their mean / std / min / max."""
    columns = {}
    for seed, res in per_seed.items():
        m = res['pretrain']['metrics']
        for key, metric, _ in VIEW_KEYS:
            columns.setdefault(f'tap_view_{key}', []).append(m.get(metric))
            columns.setdefault(f'baseline_view_{key}', []).append(
                m.get(metric.replace('view/', 'view/baseline_')))
        oa = {arm: res[arm]['metrics'].get('cls/overall_acc') for arm in ARMS}
        columns.setdefault('oa_scratch', []).append(oa['scratch'])
        columns.setdefault('oa_tap', []).append(oa['tap'])
        columns.setdefault('oa_tap_minus_scratch', []).append(
            None if None in oa.values() else oa['tap'] - oa['scratch'])
    summary = {}
    for key, values in columns.items():
        if any(v is None for v in values):
            summary[key] = dict(values=values)
            continue
        mean, std = mean_std(values)
        summary[key] = dict(values=values, mean=mean, std=std, min=min(values),
                            max=max(values))
    return summary


def report_table(per_seed: dict, summary: dict) -> str:
    """Markdown: one row per seed, then mean ± std (TAP − scratch paired by seed)."""

    def pair(a, b, spec):
        if a is None:
            return 'n/a'
        return f'{a:{spec}} / ' + ('n/a' if b is None else f'{b:{spec}}')

    head = ('| seed | view fg IoU: TAP / mean view | view MSE: TAP / mean view | '
            'view loss: TAP / mean view | OA scratch (%) | OA TAP (%) | TAP − scratch |')
    lines = [head, '|---|---|---|---|---|---|---|']
    for i, seed in enumerate(per_seed):
        cells = [str(seed)]
        for key, _, _ in VIEW_KEYS:
            spec = '.3f' if key == 'fg_iou' else '.4f'
            cells.append(pair(summary[f'tap_view_{key}']['values'][i],
                              summary[f'baseline_view_{key}']['values'][i], spec))
        for key in ('oa_scratch', 'oa_tap', 'oa_tap_minus_scratch'):
            value = summary[key]['values'][i]
            cells.append('n/a' if value is None else f'{value:+.2f}' if 'minus' in key
                         else f'{value:.2f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    if len(per_seed) > 1:

        def ms(key, spec, sign=''):
            s = summary[key]
            if 'mean' not in s:
                return 'n/a'
            if s['std'] < 1e-9 and key.startswith('baseline'):
                return f"{s['mean']:{sign}{spec}}"  # the baseline does not depend on the seed
            return f"{s['mean']:{sign}{spec}} ± {s['std']:{spec}}"

        cells = ['mean ± std']
        for key, _, _ in VIEW_KEYS:
            spec = '.3f' if key == 'fg_iou' else '.4f'
            cells.append(f"{ms(f'tap_view_{key}', spec)} / {ms(f'baseline_view_{key}', spec)}")
        cells += [ms('oa_scratch', '.2f'), ms('oa_tap', '.2f'),
                  ms('oa_tap_minus_scratch', '.2f', '+')]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def plot_curves(per_seed: dict, path: str) -> str:
    """Validation OA per epoch, both arms, every seed, as a PNG. Returns ``path``."""
    import matplotlib
    matplotlib.use('Agg')  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    colours = dict(scratch='tab:blue', tap='tab:red')
    styles = ['-', '--', ':', '-.']
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for i, (seed, res) in enumerate(per_seed.items()):
        for arm in ARMS:
            curve = res[arm].get('val_curve') or []
            if not curve:
                continue
            epochs, acc = zip(*curve)
            label = f"{'from TAP' if arm == 'tap' else 'from scratch'}, seed {seed}"
            ax.plot(epochs, acc, styles[i % len(styles)], color=colours[arm], marker='o',
                    markersize=3, label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel('fine-tuning epoch')
    ax.set_ylabel('validation OA (%)')
    ax.set_title('Synthetic ScanObjectNN PB_T50_RS: from scratch vs from TAP')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def machine() -> dict:
    import torch
    return dict(platform=platform.platform(), processor=platform.processor(),
                cpus=os.cpu_count(), torch=torch.__version__,
                torch_threads=torch.get_num_threads(),
                date=time.strftime('%Y-%m-%d'))


def main(argv=None):
    args = parse_args(argv)
    os.chdir(REPO)
    from tap3d.ops.cpu.allocator import configure_cpu_allocator
    from tap3d.utils import register_all_modules
    configure_cpu_allocator()  # reuse freed memory (TAP3D_CPU_ALLOCATOR=system opts out)
    register_all_modules(init_default_scope=False)

    start = time.time()
    make_data(args.data_root, args.tiny)
    t_data = time.time() - start

    per_seed = {}
    for seed in args.seeds:
        seed_dir = osp.join(args.work_dir, f'seed_{seed}')
        res = dict(pretrain=pretrain(args, seed, seed_dir))
        for arm in ARMS:
            res[arm] = finetune(args, seed, seed_dir, arm, res['pretrain']['checkpoint'])
        per_seed[seed] = res

    summary = summarize(per_seed)
    table = report_table(per_seed, summary)
    plot = plot_curves(per_seed, osp.join(args.work_dir, 'val_accuracy.png'))
    command = 'python tools/run_demo.py ' + ' '.join(argv if argv is not None else sys.argv[1:])
    times = '; '.join(
        f"seed {s}: pre-train {r['pretrain']['seconds']:.0f} s "
        f"({r['pretrain']['iters']} iterations, load {r['pretrain']['load_before']} → "
        f"{r['pretrain']['load_after']}), fine-tune {r['scratch']['seconds']:.0f} s + "
        f"{r['tap']['seconds']:.0f} s" for s, r in per_seed.items())
    results = dict(command=command.strip(), machine=machine(), seeds=args.seeds,
                   quick=args.quick, data_root=args.data_root, data_seconds=t_data,
                   total_seconds=time.time() - start, per_seed=per_seed, summary=summary,
                   plot=plot)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2, default=str)
    text = (f"{table}\n\n`{results['command']}`, {results['machine']['date']}; wall time: data "
            f'{t_data:.0f} s; {times}; total {results["total_seconds"]:.0f} s.\n')
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(text)
    print('\n' + text)
    print(f'[demo] results, plot, checkpoints and view grids are in {args.work_dir}/')
    return results


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
