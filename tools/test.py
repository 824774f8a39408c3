"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``.

``--vote N`` turns on test-time voting (N passes with scale augmentation, logits
averaged) for models that support it, by setting ``model.test_cfg.voting = N``.
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
    parser = argparse.ArgumentParser(description='Test (evaluate) a tap3d model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation logs and results')
    parser.add_argument('--vote', type=int, default=None,
                        help='number of test-time voting passes (sets model.test_cfg.voting)')
    parser.add_argument('--out', help='dump predictions to this pickle file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. test_dataloader.batch_size=4')
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
    check_file(args.checkpoint, 'checkpoint')
    cfg.launcher = args.launcher
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
    init_cpu_distributed(args.launcher, timeout=dist_cfg.get('timeout'))
    if args.allow_unexpected_keys:
        cfg.load_cfg = dict(cfg.get('load_cfg', None) or {}, allow_unexpected_keys=True)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.vote is not None:
        if args.vote < 1:
            raise ValueError(f'--vote must be >= 1, got {args.vote}')
        test_cfg = cfg.model.get('test_cfg', None) or {}
        test_cfg['voting'] = args.vote
        cfg.model.test_cfg = test_cfg
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must be a .pkl file')
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(dict(type='DumpResults', out_file_path=args.out))
    runner = build_tap3d_runner(cfg)
    runner.test_loop  # noqa: B018  (build datasets and evaluator now)
    return runner


def main():
    args = parse_args()
    with one_line_errors('test.py'):
        runner = build_runner(args)
    # bad data met during the run (a corrupt file, also in a dataloader worker) ends in
    # one line too; an unexpected error says where its traceback was saved
    with one_line_errors('test.py', setup=False):
        runner.test()
    shutdown_distributed()


if __name__ == '__main__':
    main()
