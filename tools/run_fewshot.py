"""Train and evaluate every fold of a few-shot setting; print mean +- std.

    python tools/run_fewshot.py \
        configs/standard_transformer/standard-transformer_tap-shapenet55-pre_1xb32-adamw-warmup-cosine-150e_modelnet40-fewshot-5way-10shot.py

Each fold ``k`` trains the config with its datasets' ``fold = k`` in
``WORK_DIR/fold_k`` and is scored by the best validation OA over the epochs
(the Point-BERT protocol reports the best epoch) and by the final epoch's OA.
A JSON summary is written to ``WORK_DIR/fewshot_summary.json``.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
from _cli import load_config, one_line_errors  # noqa: I001  (sets sys.path)

__all__ = ['run_folds', 'summarize']


def _set_fold(cfg, fold: int) -> None:
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if loader is None:
            continue
        if loader['dataset'].get('type') != 'ModelNetFewShotDataset':
            raise ValueError(f'{key}.dataset is not a ModelNetFewShotDataset: '
                             f'{cfg.filename} is not a few-shot config')
        loader['dataset']['fold'] = fold


def run_folds(cfg, folds: Sequence[int], work_dir: str) -> List[Dict[str, float]]:
    """Train one model per fold; returns ``[{'fold', 'best', 'last'}]`` (OA in percent)."""
    from mmengine.runner import Runner
    results = []
    for fold in folds:
        fold_cfg = copy.deepcopy(cfg)
        _set_fold(fold_cfg, fold)
        fold_cfg.work_dir = osp.join(work_dir, f'fold_{fold}')
        # One best-tracking history per fold.
        fold_cfg.default_hooks.checkpoint.save_best = 'cls/overall_acc'
        fold_cfg.default_hooks.checkpoint.rule = 'greater'
        runner = Runner.from_cfg(fold_cfg)
        runner.train()
        last = runner.val_loop.run()['cls/overall_acc']
        best = runner.message_hub.get_info('best_score', last)
        results.append(dict(fold=fold, best=float(max(best, last)), last=float(last)))
        print(f'fold {fold}: best OA {results[-1]["best"]:.2f}, last OA {last:.2f}')
    return results


def summarize(results: Sequence[Dict[str, float]]) -> Dict[str, float]:
    """Mean and (population) std over folds of the best and last OA."""
    best = np.array([r['best'] for r in results])
    last = np.array([r['last'] for r in results])
    return dict(best_mean=float(best.mean()), best_std=float(best.std()),
                last_mean=float(last.mean()), last_std=float(last.std()),
                num_folds=len(results))


def _parse_folds(text: str) -> List[int]:
    if '-' in text:
        lo, hi = text.split('-')
        return list(range(int(lo), int(hi) + 1))
    return [int(t) for t in text.split(',')]


def main(argv: Optional[Sequence[str]] = None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Run all folds of a few-shot setting')
    parser.add_argument('config', help='a few-shot config (one fold)')
    parser.add_argument('--folds', default='0-9', help="e.g. '0-9' or '0,3,7'")
    parser.add_argument('--work-dir', help='defaults to work_dirs/<config name>')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    with one_line_errors('run_fewshot.py'):
        from tap3d.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        cfg = load_config(args.config, args.cfg_options)
        work_dir = args.work_dir or osp.join('work_dirs',
                                             osp.splitext(osp.basename(args.config))[0])
        folds = _parse_folds(args.folds)
    results = run_folds(cfg, folds, work_dir)
    summary = summarize(results)
    print(f"{osp.basename(args.config)}: {summary['num_folds']} folds, "
          f"OA {summary['best_mean']:.2f} +- {summary['best_std']:.2f} (best epoch), "
          f"{summary['last_mean']:.2f} +- {summary['last_std']:.2f} (last epoch)")
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'fewshot_summary.json'), 'w') as f:
        json.dump(dict(config=args.config, folds=results, **summary), f, indent=2)
    return summary


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
