"""Convert Point-MAE's pre-trained checkpoint (Pang-Yatian/Point-MAE).

Usage::

    python tools/model_converters/point_mae.py IN.pth OUT.pth [--config CONFIG]
        [--cfg-options K=V ...]

Input: ``pretrain.pth`` of ``cfgs/pretrain.yaml``, the masked auto-encoder saved
under ``base_model`` (a ``module.`` prefix is removed if present), plus
``optimizer``, ``epoch``, ``metrics``. Output: a backbone checkpoint of tap3d's
``StandardPointTransformer`` in Point-MAE's layout.

Point-MAE's encoder differs from Point-BERT's in two ways, both handled here:

- the patch embedding is 384 wide and feeds the blocks directly (no
  ``reduce_dim``): the target model is built with
  ``model.backbone.encoder_dims=384`` and ``model.backbone.project_tokens=False``,
  and fine-tuning must use the same two options;
- pre-training has no class token: ``cls_token`` and ``cls_pos`` are created at
  fine-tuning (as Point-MAE does), so load with ``init_cfg=dict(type='CheckedPretrained',
  checkpoint=OUT, prefix='backbone.', skip_keys=('cls_token', 'cls_pos'))``.

Kept: ``MAE_encoder.{encoder, pos_embed, blocks.blocks.i, norm}`` ->
``backbone.{encoder, pos_embed, blocks.i, norm}``. Dropped, with the reason
printed: the mask token, the decoder and its position embedding, and the
point-reconstruction head ``increase_dim``.
"""
import os.path as osp
import sys
from typing import Dict, Optional, Sequence

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (  # noqa: E402
    ConversionError,
    build_target,
    check_paths,
    convert_state_dict,
    drop,
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
    sub_state_dict,
)

from tap3d.utils.errors import run_tool  # noqa: E402

UPSTREAM = 'Pang-Yatian/Point-MAE'
DEFAULT_CONFIG = ('configs/standard_transformer/'
                  'standard-transformer_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py')
LAYOUT = {'model.backbone.encoder_dims': 384, 'model.backbone.project_tokens': False}
NOT_PRETRAINED = {r'backbone\.cls_token': 'created at fine-tuning',
                  r'backbone\.cls_pos': 'created at fine-tuning'}
DECODER_REASON = 'decoder: reconstructs the masked patches, pre-training only'

RULES = [
    rename(r'MAE_encoder\.blocks\.blocks\.(.+)', r'backbone.blocks.\1'),
    rename(r'MAE_encoder\.(encoder\..+|pos_embed\..+|norm\..+)', r'backbone.\1'),
    drop(r'mask_token', 'mask token: decoder input for the masked patches, pre-training only'),
    drop(r'MAE_decoder\..+|decoder_pos_embed\..+', DECODER_REASON),
    drop(r'increase_dim\..+', 'increase_dim: predicts the masked points, pre-training only'),
]


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    parser = make_parser(__doc__.splitlines()[0], kinds=('pretrain', ))
    args = parser.parse_args(argv)
    check_paths(args)
    ckpt, placeholders = read_checkpoint(args.input)
    source, entry = find_state_dict(ckpt, args.input, entries=('base_model', 'model'))
    if 'MAE_encoder.norm.weight' not in source:
        raise ConversionError(f'{args.input} is not a Point-MAE pre-training checkpoint: its '
                              f'keys look like {list(source)[:4]}')
    config = args.config or repo_path(DEFAULT_CONFIG)
    cfg_options = dict(args.cfg_options or {})
    cfg_options.update(LAYOUT)
    model, _ = build_target(config, cfg_options)
    target = sub_state_dict(model.state_dict(), ['backbone.'])
    conversion = convert_state_dict(source, RULES, target, args.input,
                                    allow_missing=NOT_PRETRAINED)
    lines = [f"{args.input}: Point-MAE pre-training checkpoint, weights in '{entry}'",
             f'  not converted (training state): {other_entries(ckpt, entry)}']
    if placeholders:
        lines.append(f'  read as inert placeholders, not imported: {placeholders}')
    lines += [f'  target: backbone of {relative(config)} with {cfg_options}',
              '  not in the input (Point-MAE creates them at fine-tuning): backbone.cls_token, '
              'backbone.cls_pos',
              f"  fine-tune with model.backbone.encoder_dims=384, project_tokens=False and "
              f"init_cfg=dict(type='CheckedPretrained', checkpoint='{args.output}', "
              "prefix='backbone.', skip_keys=('cls_token', 'cls_pos'))"]
    meta = make_meta(UPSTREAM, args.input, entry, 'pretrain', config, cfg_options, conversion,
                     placeholders=placeholders, not_in_input=['cls_token', 'cls_pos'])
    save_checkpoint(args.output, conversion.state_dict, meta)
    print_report(lines, conversion, args.output)
    return dict(conversion=conversion, config=config, cfg_options=cfg_options)


if __name__ == '__main__':
    sys.exit(run_tool(main))
