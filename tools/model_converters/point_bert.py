"""Convert Point-BERT's pre-trained checkpoint (lulutang0608/Point-BERT).

Usage::

    python tools/model_converters/point_bert.py IN.pth OUT.pth [--config CONFIG]
        [--cfg-options K=V ...]

Input: ``Point-BERT.pth``, the pre-training model of ``cfgs/Mixup_models/
Point-BERT.yaml`` saved under ``base_model`` (with the ``module.`` prefix of
DataParallel), plus ``optimizer``, ``epoch``, ``metrics``. It holds the dVAE
tokenizer, the query Transformer (``transformer_q``), its MoCo momentum copy
(``transformer_k``) and the MoCo queue. Output: a backbone checkpoint of
tap3d's ``StandardPointTransformer`` (Point-BERT's layout: 256-wide patch
embedding projected to 384 by ``reduce_dim``), to be loaded with
``init_cfg=dict(type='CheckedPretrained', checkpoint=OUT, prefix='backbone.')``.

Kept: ``transformer_q.{encoder, reduce_dim, cls_token, cls_pos, pos_embed,
blocks.blocks.i, norm}`` -> ``backbone.{..., blocks.i, ...}`` (what Point-BERT's
own fine-tuning loads). Dropped, with the reason printed: the mask token, the
dVAE-token prediction head (``lm_head``), the contrastive projection head
(``cls_head``), the momentum encoder, the dVAE and the queue.
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

UPSTREAM = 'lulutang0608/Point-BERT'
DEFAULT_CONFIG = ('configs/standard_transformer/'
                  'standard-transformer_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py')

RULES = [
    rename(r'transformer_q\.blocks\.blocks\.(.+)', r'backbone.blocks.\1'),
    rename(r'transformer_q\.(encoder\..+|reduce_dim\..+|cls_token|cls_pos|pos_embed\..+'
           r'|norm\..+)', r'backbone.\1'),
    drop(r'transformer_q\.mask_token', 'mask token: stands in for masked patches in '
         'pre-training only'),
    drop(r'transformer_q\.lm_head\..+', 'lm_head: predicts dVAE tokens, the pre-training '
         'objective'),
    drop(r'transformer_q\.cls_head\..+', 'cls_head: projection for the contrastive '
         'pre-training loss'),
    drop(r'transformer_k\..+', 'transformer_k: MoCo momentum encoder, a running average of '
         'transformer_q'),
    drop(r'dvae\..+', 'dvae: the frozen tokenizer that makes the pre-training targets'),
    drop(r'queue|queue_ptr', 'queue: MoCo negative keys'),
]


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    parser = make_parser(__doc__.splitlines()[0], kinds=('pretrain', ))
    args = parser.parse_args(argv)
    check_paths(args)
    ckpt, placeholders = read_checkpoint(args.input)
    source, entry = find_state_dict(ckpt, args.input, entries=('base_model', 'model'))
    if 'transformer_q.cls_token' not in source:
        raise ConversionError(f'{args.input} is not a Point-BERT pre-training checkpoint: its '
                              f'keys look like {list(source)[:4]}')
    config = args.config or repo_path(DEFAULT_CONFIG)
    model, _ = build_target(config, args.cfg_options)
    target = sub_state_dict(model.state_dict(), ['backbone.'])
    conversion = convert_state_dict(source, RULES, target, args.input)
    lines = [f"{args.input}: Point-BERT pre-training checkpoint, weights in '{entry}'",
             f'  not converted (training state): {other_entries(ckpt, entry)}']
    if placeholders:
        lines.append(f'  read as inert placeholders, not imported: {placeholders}')
    lines += [f'  target: backbone of {relative(config)}'
              + (f' with {args.cfg_options}' if args.cfg_options else ''),
              "  fine-tune with init_cfg=dict(type='CheckedPretrained', "
              f"checkpoint='{args.output}', prefix='backbone.')"]
    meta = make_meta(UPSTREAM, args.input, entry, 'pretrain', config, args.cfg_options,
                     conversion, placeholders=placeholders)
    save_checkpoint(args.output, conversion.state_dict, meta)
    print_report(lines, conversion, args.output)
    return dict(conversion=conversion, config=config, cfg_options=dict(args.cfg_options or {}))


if __name__ == '__main__':
    sys.exit(run_tool(main))
