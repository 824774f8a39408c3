"""Train a tap3d model: ``python tools/train.py CONFIG [options]``.

Behaves like mmdetection3d's ``tools/train.py``: the work dir defaults to
``work_dirs/<config name>``, ``--resume`` continues from the latest (or a given)
checkpoint, ``--amp`` switches to ``DeviceAgnosticAmpOptimWrapper`` (mmengine's
``AmpOptimWrapper``, with bf16 autocast on a CPU-only machine) and ``--launcher``
selects the distributed launcher (see ``tools/dist_train.sh``).
"""
import argparse
import os
import os.path as osp

from _cli import check_file, load_config, one_line_errors  # noqa: I001  (sets sys.path)
from mmengine.config import DictAction
from mmengine.runner import Runner

from tap3d.engine import build_runner as build_tap3d_runner
from tap3d.engine import init_cpu_distributed, shutdown_distributed
from tap3d.utils import register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(description='Train a tap3d model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic mixed precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate with the total batch size')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest one in the work dir '
        'when no path is given')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. model.backbone.k=16 '
        'train_dataloader.batch_size=8')
    parser.add_argument(
        '--allow-unexpected-keys', action='store_true',
        help='accept a checkpoint holding keys the model does not have (they are listed '
        'and ignored); a missing key or a shape mismatch always fails')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_runner(args) -> Runner:
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
    init_cpu_distributed(args.launcher, timeout=dist_cfg.get('timeout'))
    if args.allow_unexpected_keys:
        cfg.load_cfg = dict(cfg.get('load_cfg', None) or {}, allow_unexpected_keys=True)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        amp_wrappers = ('AmpOptimWrapper', 'DeviceAgnosticAmpOptimWrapper')
        if optim_wrapper not in ('OptimWrapper', ) + amp_wrappers:
            raise ValueError(f'--amp needs OptimWrapper or an AMP wrapper, got {optim_wrapper}')
        cfg.optim_wrapper.type = 'DeviceAgnosticAmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError('--auto-scale-lr needs `auto_scale_lr.base_batch_size` in the '
                             'config')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        check_file(args.resume, 'checkpoint to resume from')
        cfg.resume = True
        cfg.load_from = args.resume
    check_file(cfg.get('load_from', None), 'checkpoint in load_from')

    runner = build_tap3d_runner(cfg)
    # Build the loops (datasets, dataloaders, evaluators) now, so that a bad config
    # fails before training starts, with a one-line message.
    runner.train_loop  # noqa: B018
    if runner._val_loop is not None:
        runner.val_loop  # noqa: B018
    return runner


def main():
    args = parse_args()
    with one_line_errors('train.py'):
        runner = build_runner(args)
    # bad data met during the run (a corrupt file, also in a dataloader worker) ends in
    # one line too; an unexpected error says where its traceback was saved
    with one_line_errors('train.py', setup=False):
        runner.train()
    shutdown_distributed()


if __name__ == '__main__':
    main()
