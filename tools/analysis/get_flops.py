"""Parameters (per submodule) and FLOPs of a config's model.

    python tools/analysis/get_flops.py CONFIG [--num-points N] [--num-views V] [--depth 2]

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` on one forward
pass with random inputs of ``--batch-size`` clouds. Only matmul-like ops (linear,
conv, attention) are counted, as usual; 1 multiply-add = 2 FLOPs.

The forward is the network a user runs: ``mode='tensor'`` (backbone + head of
classifiers and segmentors) or, for TAP pre-training, :meth:`TAPPretrainer.generate`
(backbone, then the TAP head, Photograph module + generator, for every one of the V
views). The output lists the top-level submodules this forward ran (counted) and
those it did not (losses and collation, which run in training only).

The dummy input is built as the config's data would be:

- ``feat`` gets the width the config's pipeline builds (``BuildFeat`` keys:
  coord 3, height 1, normal 3, color 3); without ``BuildFeat``, the backbone's
  optional ``in_channels`` attribute (docs/architecture.md), else 3 (xyz);
- ``--num-points`` defaults to the last ``PointSample`` of the training pipeline,
  else the training dataset's ``num_points``, else 1024;
- a TAP pre-trainer also gets ``--num-views`` views (default: the training
  dataset's ``num_views``, else 6) of the head's ``img_size``, posed as the fixed
  TAP views.

Only object-level models (stacked batches) are supported; scene models (offset
batches: PTv2, 3DETR) are refused with a message.
"""
import argparse
import copy
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

__all__ = ['count_parameters', 'parameter_table', 'count_flops', 'dummy_inputs',
           'pipeline_feature_width', 'config_num_points', 'config_num_views']

# width of each BuildFeat key
FEATURE_WIDTHS = dict(coord=3, height=1, normal=3, color=3)
_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


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


def _datasets(cfg, loaders=_LOADERS):
    """``(loader name, dataset config)`` of the config's loaders (wrappers unwrapped)."""
    for loader in loaders:
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        while isinstance(dataset.get('dataset'), dict):  # e.g. RepeatDataset
            dataset = dataset['dataset']
        yield loader, dataset


def _type_name(transform) -> str:
    kind = transform.get('type', '') if isinstance(transform, dict) else ''
    kind = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    return kind.split('.')[-1]


def pipeline_feature_width(cfg) -> Tuple[Optional[int], str]:
    """Width C of the ``feat`` (N, C) the config's data pipeline builds.

    Returns:
        (C, where it was found), or (None, '') when no pipeline has ``BuildFeat``.
    """
    for loader, dataset in _datasets(cfg):
        for transform in reversed(list(dataset.get('pipeline') or [])):
            if _type_name(transform) == 'BuildFeat':
                keys = tuple(transform.get('keys', ('coord', 'height')))
                unknown = [c for c in keys if c not in FEATURE_WIDTHS]
                if unknown:
                    raise ValueError(f'{loader}: BuildFeat keys {unknown} unknown; '
                                     f'known: {sorted(FEATURE_WIDTHS)}')
                return (sum(FEATURE_WIDTHS[c] for c in keys),
                        f"{loader}'s BuildFeat(keys={keys})")
    return None, ''


def config_num_points(cfg, default: int = 1024) -> Tuple[int, str]:
    """Points per cloud the training data feeds: (N, where it was found)."""
    for loader, dataset in _datasets(cfg, ('train_dataloader', )):
        for transform in reversed(list(dataset.get('pipeline') or [])):
            if _type_name(transform) == 'PointSample':
                return int(transform['num_points']), f"{loader}'s PointSample"
        if dataset.get('num_points'):
            return int(dataset['num_points']), f'{loader}.dataset.num_points'
    return default, 'default'


def config_num_views(cfg, default: int = 6) -> Tuple[int, str]:
    """Views per shape the training data feeds: (V, where it was found)."""
    for loader, dataset in _datasets(cfg, ('train_dataloader', )):
        if dataset.get('num_views'):
            return int(dataset['num_views']), f'{loader}.dataset.num_views'
    return default, 'default'


def dummy_inputs(model, batch_size: int = 1, num_points: int = 1024, num_views: int = 6,
                 img_size: Optional[int] = None, seed: int = 0,
                 in_channels: Optional[int] = None) -> Dict[str, torch.Tensor]:
    """Random stack-mode inputs that fit ``model``.

    Args:
        model: a tap3d model with a ``backbone``.
        batch_size, num_points: B and N.
        num_views, img_size: V views of ``img_size`` pixels for a TAP pre-trainer
            (``img_size`` defaults to its head's).
        seed: seed of the random points.
        in_channels: width C of ``feat``; None falls back to the backbone's
            ``in_channels`` attribute, else 3.

    Returns:
        ``coord`` (B, N, 3) in [-1, 1], ``feat`` (B, N, C) (xyz first);
        TAP: ``views`` (B, V, 3, H, W), ``view_rotations`` (B, V, 3, 3) (the fixed
        TAP poses); part segmentation: ``category`` (B,) zeros.
    """
    gen = torch.Generator().manual_seed(seed)
    points = torch.rand(batch_size, num_points, 3, generator=gen) * 2 - 1
    c_in = in_channels if in_channels is not None else getattr(model.backbone,
                                                                'in_channels', 3)
    if c_in < 3:
        raise ValueError(f'feat of {c_in} channels: a stack-mode backbone reads at least xyz')
    feats = points if c_in == 3 else torch.cat(
        [points, torch.rand(batch_size, num_points, c_in - 3, generator=gen)], -1)
    inputs = dict(coord=points, feat=feats)
    if hasattr(model, 'generate'):  # TAP: the head photographs V views
        from tap3d.geometry import fixed_view_rotations
        size = img_size or model.head.img_size
        inputs['views'] = torch.rand(batch_size, num_views, 3, size, size, generator=gen)
        rots = fixed_view_rotations(12)[torch.arange(num_views) * 12 // max(num_views, 1)]
        inputs['view_rotations'] = rots.float().expand(batch_size, -1, 3, 3).clone()
    if hasattr(model, 'get_category'):  # part segmentation: the shape's category
        inputs['category'] = torch.zeros(batch_size, dtype=torch.long)
    return inputs


class _Forward(torch.nn.Module):
    """Runs the counted forward of ``model`` (see the module doc).

    Being the root module, it makes the counter attribute every FLOP to
    ``_Forward.model.<child>``, whichever method of the model runs.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: Dict[str, torch.Tensor]):
        if hasattr(self.model, 'generate'):
            return self.model.generate(inputs)  # TAP: backbone + head for every view
        return self.model(inputs, mode='tensor')


@torch.no_grad()
def count_flops(model, inputs: Dict[str, torch.Tensor]) -> Tuple[int, Dict[str, int]]:
    """FLOPs of one forward of ``model`` (see the module doc for which forward).

    Returns:
        (total, per_module): ``per_module`` maps every top-level submodule the
        forward ran to its FLOPs (0 for one without matmul-like ops); submodules
        it did not run are absent.
    """
    from torch.utils.flop_counter import FlopCounterMode
    ran = []
    hooks = [child.register_forward_pre_hook(lambda *_, name=name: ran.append(name))
             for name, child in model.named_children()]
    counter = FlopCounterMode(display=False)
    try:
        with counter:
            _Forward(model)(inputs)
    finally:
        for hook in hooks:
            hook.remove()
    per_module = {name: 0 for name in dict.fromkeys(ran)}
    for name, counts in counter.get_flop_counts().items():
        parts = name.split('.')
        if len(parts) == 3 and parts[1] == 'model' and parts[2] in per_module:
            per_module[parts[2]] = int(sum(counts.values()))
    return int(counter.get_total_flops()), per_module


def main(argv=None):
    parser = argparse.ArgumentParser(description='Parameters and FLOPs of a model')
    parser.add_argument('config')
    parser.add_argument('--num-points', type=int, default=None,
                        help="points per cloud (default: the config's, else 1024)")
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--num-views', type=int, default=None,
                        help="TAP views per shape (default: the config's, else 6)")
    parser.add_argument('--depth', type=int, default=2, help='submodule levels to list')
    args = parser.parse_args(argv)
    from mmengine.config import Config

    from tap3d.registry import MODELS
    from tap3d.utils import register_all_modules
    from tap3d.utils.errors import UserError
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg['backbone'].pop('init_cfg', None)
    model = MODELS.build(model_cfg).eval()
    if getattr(model.data_preprocessor, 'batch_mode', 'stack') != 'stack':
        raise UserError(f'{args.config}: the model takes offset batches (a scene model); '
                        'get_flops.py builds inputs for object-level (stacked) models only')
    print(parameter_table(count_parameters(model, args.depth)))

    width, width_from = pipeline_feature_width(cfg)
    if width is None:
        width = getattr(model.backbone, 'in_channels', None)
        width_from = ("the backbone's in_channels attribute" if width is not None else
                      'xyz only: no BuildFeat in the pipeline, no backbone.in_channels')
    num_points, points_from = ((args.num_points, '--num-points') if args.num_points else
                               config_num_points(cfg))
    num_views, views_from = ((args.num_views, '--num-views') if args.num_views else
                             config_num_views(cfg))
    inputs = dummy_inputs(model, args.batch_size, num_points, num_views, in_channels=width)
    total, per_module = count_flops(model, inputs)

    c_in = inputs['feat'].shape[-1]
    print(f'\nFLOPs of one forward, batch {args.batch_size} x {num_points} points '
          f'({points_from}); feat of {c_in} channels ({width_from})')
    if 'views' in inputs:
        size = inputs['views'].shape[-1]
        print(f'and {num_views} views of {size}x{size} per shape ({views_from})')
    notes = {}
    if hasattr(model, 'generate'):
        notes['head'] = f'Photograph module + generator, {num_views} views'
    for name, flops in per_module.items():
        note = f'  ({notes[name]})' if name in notes else ''
        print(f'  {name:<20} {flops / 1e9:10.3f} G{note}')
    print(f'  {"total":<20} {total / 1e9:10.3f} G')
    forward = ('TAPPretrainer.generate: the backbone, then the TAP head for every view'
               if hasattr(model, 'generate') else "forward(mode='tensor')")
    skipped = [name for name, _ in model.named_children() if name not in per_module]
    print(f'counted: {", ".join(per_module)} ({forward})')
    print(f'not counted: {", ".join(skipped) or "nothing"}'
          + (' (not run by this forward: losses and collation run in training only)'
             if skipped else ''))


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
