"""Parameters (per submodule) and FLOPs of a config's model.

    python tools/analysis/get_flops.py CONFIG [--num-points 1024] [--depth 2]

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` on one forward
pass in ``'tensor'`` mode with random inputs of ``--batch-size`` clouds of
``--num-points`` points (``feats`` get the backbone's ``in_channels``; a TAP
pre-trainer also gets ``--num-views`` 224x224 views). Only matmul-like ops
(linear, conv, attention) are counted, as usual; 1 multiply-add = 2 FLOPs.
"""
import argparse
import copy
import os.path as osp
import sys
from typing import Dict, List, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

__all__ = ['count_parameters', 'parameter_table', 'count_flops', 'dummy_inputs']


def count_parameters(module: torch.nn.Module, depth: int = 1) -> List[Tuple[str, int]]:
    """``[(name, parameters)]`` for every submodule down to ``depth`` levels, plus 'total'."""
    rows = []

    def visit(mod, prefix, level):
        for name, child in mod.named_children():
            full = f'{prefix}.{name}' if prefix else name
            rows.append((full, sum(p.numel() for p in child.parameters())))
            if level < depth:
                visit(child, full, level + 1)

    visit(module, '', 1)
    rows.append(('total', sum(p.numel() for p in module.parameters())))
    return rows


def parameter_table(rows: List[Tuple[str, int]]) -> str:
    width = max(len(n) for n, _ in rows)
    return '\n'.join(f'{n:<{width}}  {c:>12,}' for n, c in rows)


def dummy_inputs(model, batch_size: int = 1, num_points: int = 1024,
                 num_views: int = 6, img_size: int = 224, seed: int = 0) -> Dict[str, torch.Tensor]:
    """Random stack-mode inputs that fit ``model``'s backbone (see module doc)."""
    gen = torch.Generator().manual_seed(seed)
    points = torch.rand(batch_size, num_points, 3, generator=gen) * 2 - 1
    c_in = getattr(model.backbone, 'in_channels', 3)
    feats = points if c_in == 3 else torch.cat(
        [points, torch.rand(batch_size, num_points, c_in - 3, generator=gen)], -1)
    inputs = dict(points=points, feats=feats)
    if type(model).__name__ == 'TAPPretrainer':
        inputs['views'] = torch.rand(batch_size, num_views, 3, img_size, img_size, generator=gen)
        inputs['view_rotations'] = torch.eye(3).expand(batch_size, num_views, 3, 3).clone()
    return inputs


@torch.no_grad()
def count_flops(model, inputs: Dict[str, torch.Tensor]) -> Tuple[int, Dict[str, int]]:
    """Total FLOPs of ``model(inputs, mode='tensor')`` and FLOPs per top-level submodule."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        model(inputs, mode='tensor')
    per_module = {}
    for name, counts in counter.get_flop_counts().items():
        parts = name.split('.')
        if len(parts) == 2:  # "Global.<child>"
            per_module[parts[1]] = int(sum(counts.values()))
    return int(counter.get_total_flops()), per_module


def main(argv=None):
    parser = argparse.ArgumentParser(description='Parameters and FLOPs of a model')
    parser.add_argument('config')
    parser.add_argument('--num-points', type=int, default=1024)
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--num-views', type=int, default=6)
    parser.add_argument('--depth', type=int, default=2, help='submodule levels to list')
    args = parser.parse_args(argv)
    from mmengine.config import Config
    from tap3d.registry import MODELS
    from tap3d.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg['backbone'].pop('init_cfg', None)
    model = MODELS.build(model_cfg).eval()
    print(parameter_table(count_parameters(model, args.depth)))
    inputs = dummy_inputs(model, args.batch_size, args.num_points, args.num_views)
    total, per_module = count_flops(model, inputs)
    print(f'\nFLOPs for batch {args.batch_size} x {args.num_points} points:')
    for name, flops in per_module.items():
        print(f'  {name:<20} {flops / 1e9:10.3f} G')
    print(f'  {"total":<20} {total / 1e9:10.3f} G')


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
