"""Convert 3DETR's released ScanNet checkpoints (facebookresearch/3detr).

Usage::

    python tools/model_converters/threedetr.py IN.pth OUT.pth [--config CONFIG]
        [--cfg-options K=V ...]

Input: ``scannet_ep1080.pth`` (3DETR) or ``scannet_masked_ep1080.pth`` (3DETR-m), a
dict with ``model`` (the state dict), ``optimizer``, ``epoch``, ``args`` (an
``argparse.Namespace``, read as an inert placeholder) and ``best_val_metrics``.
The encoder type is read from the keys (``encoder.interim_downsampling`` = masked).
Output: a ``ThreeDETR`` checkpoint for ``tools/test.py`` (default configs
``configs/3detr/3detr-m_1xb8-1080e_scannet.py`` / ``3detr_1xb8-1080e_scannet.py``).

Key mapping (upstream -> tap3d):

- ``pre_encoder.mlp_module.layer{i}.conv`` / ``.bn.bn`` -> ``backbone.pre_encoder.mlp.{3i}``
  / ``.{3i+1}`` (conv, BN); ``encoder.interim_downsampling`` -> ``backbone.interim``
  likewise; ``encoder.layers`` -> ``backbone.layers``;
- ``encoder_to_decoder_projection.layers`` -> ``head.enc_proj``,
  ``query_projection.layers`` -> ``head.query_proj``, ``pos_embedding.gauss_B``
  -> ``head.pos_embed.gauss_B`` (the random Fourier matrix, part of the model);
- ``decoder.layers.i.multihead_attn`` -> ``head.layers.i.cross_attn``, the rest of
  ``decoder.layers`` and ``decoder.norm`` -> ``head.layers`` / ``head.norm``;
- ``mlp_heads.{sem_cls, center, size}_head.layers`` -> ``head.box_heads.{cls,
  center, size}_head``. The angle heads (``angle_cls_head``,
  ``angle_residual_head``) are dropped: ScanNet boxes are axis-aligned, and 3DETR
  multiplies their outputs by zero there (one angle bin). A config with
  ``model.head.with_angle_head=True`` keeps them (``angle_reg_head``).
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
)

from tap3d.utils.errors import run_tool  # noqa: E402

UPSTREAM = 'facebookresearch/3detr'
DEFAULT_CONFIGS = {
    'masked': 'configs/3detr/3detr-m_1xb8-1080e_scannet.py',
    'vanilla': 'configs/3detr/3detr_1xb8-1080e_scannet.py',
}
ANGLE_REASON = ('angle heads: ScanNet boxes are axis-aligned and 3DETR multiplies their '
                'outputs by zero (one angle bin)')


def _sa(prefix: str):
    def target(m):
        layer, part, name = m.groups()
        return f'{prefix}.{3 * int(layer) + (0 if part == "conv" else 1)}.{name}'
    return target


def _has(key: str):
    return lambda target_keys: key in target_keys


RULES = [
    rename(r'pre_encoder\.mlp_module\.layer(\d+)\.(conv|bn\.bn)\.(.+)',
           _sa('backbone.pre_encoder.mlp')),
    rename(r'encoder\.interim_downsampling\.mlp_module\.layer(\d+)\.(conv|bn\.bn)\.(.+)',
           _sa('backbone.interim.mlp')),
    rename(r'encoder\.layers\.(.+)', r'backbone.layers.\1'),
    rename(r'encoder_to_decoder_projection\.layers\.(.+)', r'head.enc_proj.\1'),
    rename(r'pos_embedding\.gauss_B', 'head.pos_embed.gauss_B'),
    rename(r'query_projection\.layers\.(.+)', r'head.query_proj.\1'),
    rename(r'decoder\.layers\.(\d+)\.multihead_attn\.(.+)', r'head.layers.\1.cross_attn.\2'),
    rename(r'decoder\.layers\.(.+)', r'head.layers.\1'),
    rename(r'decoder\.norm\.(.+)', r'head.norm.\1'),
    rename(r'mlp_heads\.sem_cls_head\.layers\.(.+)', r'head.box_heads.cls_head.\1'),
    rename(r'mlp_heads\.(center|size)_head\.layers\.(.+)', r'head.box_heads.\1_head.\2'),
    rename(r'mlp_heads\.angle_cls_head\.layers\.(.+)', r'head.box_heads.angle_cls_head.\1',
           when=_has('head.box_heads.angle_cls_head.0.weight')),
    rename(r'mlp_heads\.angle_residual_head\.layers\.(.+)', r'head.box_heads.angle_reg_head.\1',
           when=_has('head.box_heads.angle_reg_head.0.weight')),
    drop(r'mlp_heads\.angle_(?:cls|residual)_head\..+', ANGLE_REASON),
]


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    parser = make_parser(__doc__.splitlines()[0], kinds=('finetune', ))
    args = parser.parse_args(argv)
    check_paths(args)
    ckpt, placeholders = read_checkpoint(args.input)
    source, entry = find_state_dict(ckpt, args.input, entries=('model', ))
    if 'pre_encoder.mlp_module.layer0.conv.weight' not in source:
        raise ConversionError(f'{args.input} is not a 3DETR checkpoint: its keys look like '
                              f'{list(source)[:4]}')
    encoder = 'masked' if any(k.startswith('encoder.interim_downsampling.')
                              for k in source) else 'vanilla'
    config = args.config or repo_path(DEFAULT_CONFIGS[encoder])
    model, _ = build_target(config, args.cfg_options)
    conversion = convert_state_dict(source, RULES, model.state_dict(), args.input)
    lines = [f'{args.input}: 3DETR ScanNet checkpoint, {encoder} encoder, weights in '
             f"'{entry}'", f'  not converted (training state): {other_entries(ckpt, entry)}']
    if placeholders:
        lines.append(f'  read as inert placeholders, not imported: {placeholders}')
    lines.append(f'  target: {relative(config)}'
                 + (f' with {args.cfg_options}' if args.cfg_options else ''))
    meta = make_meta(UPSTREAM, args.input, entry, 'finetune', config, args.cfg_options,
                     conversion, encoder=encoder, placeholders=placeholders)
    if isinstance(ckpt.get('epoch'), int):
        meta['epoch'] = ckpt['epoch']
    save_checkpoint(args.output, conversion.state_dict, meta)
    print_report(lines, conversion, args.output)
    return dict(conversion=conversion, encoder=encoder, config=config,
                cfg_options=dict(args.cfg_options or {}))


if __name__ == '__main__':
    sys.exit(run_tool(main))
