"""Convert Pointcept's PTv2 m2 ScanNet checkpoint (Pointcept/Pointcept).

Usage::

    python tools/model_converters/pointcept_ptv2.py IN.pth OUT.pth [--config CONFIG]
        [--cfg-options K=V ...]

Input: Pointcept's ``model_best.pth`` of ``semseg-pt-v2m2-0-base`` (ScanNet), a dict
with ``state_dict`` (keys ``module.backbone.*`` from DistributedDataParallel +
``DefaultSegmentor``), ``optimizer``, ``scheduler``, ``scaler``, ``epoch`` and
``best_metric_value``. Output: a ``SceneSegmentor`` checkpoint for ``tools/test.py``
(default config ``configs/ptv2/ptv2m2_4xb3-cosine-900e_scannet.py``).

Key mapping (upstream -> tap3d): the backbone keeps its names, except that
tap3d groups each ``Linear -> BN -> ReLU`` of a position encoding or weight
encoding into one block: ``{linear_p_bias, linear_p_multiplier,
weight_encoding}.{0, 1.norm, 3}`` -> ``.{0.0, 0.1.norm, 1}``. The segmentation
head ``backbone.seg_head.{0, 1.norm, 3}`` (Linear, BN, ReLU, Linear) ->
``head.layers.{0, 1, last}``.
"""
import os.path as osp
import re
import sys
from typing import Dict, Optional, Sequence

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (  # noqa: E402
    ConversionError,
    build_target,
    check_paths,
    convert_state_dict,
    find_state_dict,
    make_meta,
    make_parser,
    other_entries,
    print_report,
    read_checkpoint,
    relative,
    rename,
    repo_path,
    save_checkpoint,
)

from tap3d.utils.errors import run_tool  # noqa: E402

UPSTREAM = 'Pointcept/Pointcept'
DEFAULT_CONFIG = 'configs/ptv2/ptv2m2_4xb3-cosine-900e_scannet.py'
ENCODINGS = r'(linear_p_bias|linear_p_multiplier|weight_encoding)'


def rules(target_keys) -> list:
    """The mapping; the index of the head's last Linear depends on the tap3d head
    (a dropout layer shifts it), so it is read from the target model's keys."""
    layers = [int(m[1]) for k in target_keys
              for m in [re.fullmatch(r'head\.layers\.(\d+)\.weight', k)] if m]
    if not layers:
        raise ConversionError('the --config model has no SegHead (head.layers.*)')
    last = max(layers)
    return [
        rename(rf'backbone\.(.+)\.{ENCODINGS}\.0\.(weight|bias)', r'backbone.\1.\2.0.0.\3'),
        rename(rf'backbone\.(.+)\.{ENCODINGS}\.1\.norm\.(.+)', r'backbone.\1.\2.0.1.norm.\3'),
        rename(rf'backbone\.(.+)\.{ENCODINGS}\.3\.(weight|bias)', r'backbone.\1.\2.1.\3'),
        # seg_head inside the backbone (PT-v2m2) or next to it (DefaultSegmentorV2)
        rename(r'(?:backbone\.)?seg_head\.0\.(weight|bias)', r'head.layers.0.\1'),
        rename(r'(?:backbone\.)?seg_head\.1\.norm\.(.+)', r'head.layers.1.\1'),
        rename(r'(?:backbone\.)?seg_head\.3\.(weight|bias)', rf'head.layers.{last}.\1'),
        rename(r'backbone\.(.+)', r'backbone.\1'),
    ]


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    parser = make_parser(__doc__.splitlines()[0], kinds=('finetune', ))
    args = parser.parse_args(argv)
    check_paths(args)
    ckpt, placeholders = read_checkpoint(args.input)
    source, entry = find_state_dict(ckpt, args.input, entries=('state_dict', 'model'))
    if not any(k.startswith('backbone.patch_embed.') for k in source):
        raise ConversionError(f'{args.input} is not a Pointcept PTv2 checkpoint: its keys look '
                              f'like {list(source)[:4]}')
    config = args.config or repo_path(DEFAULT_CONFIG)
    model, _ = build_target(config, args.cfg_options)
    target = model.state_dict()
    conversion = convert_state_dict(source, rules(target), target, args.input)
    lines = [f"{args.input}: Pointcept PTv2 checkpoint, weights in '{entry}'",
             f'  not converted (training state): {other_entries(ckpt, entry)}']
    if placeholders:
        lines.append(f'  read as inert placeholders, not imported: {placeholders}')
    lines.append(f'  target: {relative(config)}'
                 + (f' with {args.cfg_options}' if args.cfg_options else ''))
    meta = make_meta(UPSTREAM, args.input, entry, 'finetune', config, args.cfg_options,
                     conversion, placeholders=placeholders)
    if isinstance(ckpt.get('epoch'), int):
        meta['epoch'] = ckpt['epoch']
    save_checkpoint(args.output, conversion.state_dict, meta)
    print_report(lines, conversion, args.output)
    return dict(conversion=conversion, config=config, cfg_options=dict(args.cfg_options or {}))


if __name__ == '__main__':
    sys.exit(run_tool(main))
