"""Convert the TAP authors' released checkpoints (wangzy22/TAP, openpoints format).

Usage::

    python tools/model_converters/tap.py IN.pth OUT.pth [--kind pretrain|finetune]
        [--config CONFIG] [--cfg-options K=V ...] [--backbone-only]

The authors' files are PointNeXt/openpoints checkpoints: a dict whose ``model``
entry holds the state dict (plus ``optimizer``, ``scheduler``, ``epoch``,
``best_val``), or, for the pre-trained encoders they pass to fine-tuning, the
encoder alone (``save_checkpoint(..., post_fix='clean')``: ``{'model': encoder}``).
The backbone (PointMLP, PointNet++, DGCNN or the standard Transformer) and the
kind are read from the keys:

- pre-trained (``encoder.*`` + ``generator.*`` + ``decoder.*``, or the encoder
  alone) -> a TAP checkpoint: ``backbone.*`` loads into any fine-tuning config
  with ``init_cfg=dict(type='CheckedPretrained', checkpoint=OUT, prefix='backbone.')``;
  the Photograph module and generator map onto :class:`TAPHead` in the authors'
  layout (see below), or are dropped with ``--backbone-only``;
- fine-tuned on ScanObjectNN (``encoder.*`` + ``prediction.*``) -> a
  ``PointClassifier`` checkpoint for ``tools/test.py``;
- fine-tuned on ShapeNetPart (``segmentor.*``) -> a ``PartSegmentor`` checkpoint.

Key mapping (upstream -> tap3d):

- PointMLP: same names; 1x1-conv weights (out, in, 1) become Linear (out, in);
- PointNet++: ``SA_modules.i.local_aggregations.0.SA_CONFIG_operator.convs.j.{0,1}``
  -> ``stages.i.branches.0.{3j, 3j+1}`` (conv, BN);
- DGCNN: ``head.gconv.nn`` -> ``edge_convs.0.conv``, ``backbone.i.gconv.nn`` ->
  ``edge_convs.{i+1}.conv``, ``fusion_block`` -> ``fusion``;
- Transformer: same names except ``blocks.blocks.i`` -> ``blocks.i``;
- classifier ``prediction.head.{0,2,4}.{0,1}`` -> ``head.mlp.{0,1,4,5,8}``;
- part segmentation ``segmentor.{encoder parts}`` -> ``backbone.*``, the decoder
  (``decode_list``, ``cls_map``, ``gmp_map_*``, ``classifier``) -> ``head.*``;
- Photograph module ``generator.feat_mlp`` -> ``head.memory_mlp``,
  ``query_mlp`` -> ``query_mlp``, ``transformer.i.{attn1, attn2, ff, norm1-3}`` ->
  ``blocks.i.{self_attn, cross_attn, ffn, norm1-3}``; ``decoder.layer{k}.0`` ->
  ``head.generator.layers.{2(k-1)}``. The head is built as the authors' code
  computes it (``num_heads=32, head_dims=32, authors_direction=True,
  use_pad_token=False``); their ``pad_memory`` is dropped: their forward pass
  never appends it to the memory.
"""
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

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

UPSTREAM = 'wangzy22/TAP'

DEFAULT_CONFIGS = {
    ('pretrain', 'pointmlp'): 'configs/tap/tap_pointmlp_1xb32-cosine-100e_shapenet55.py',
    ('pretrain', 'pointnet2'): 'configs/tap/tap_pointnet2_1xb32-cosine-100e_shapenet55.py',
    ('pretrain', 'dgcnn'): 'configs/tap/tap_dgcnn_1xb16-cosine-100e_shapenet55.py',
    ('pretrain', 'transformer'):
    'configs/tap/tap_standard-transformer_1xb32-cosine-100e_shapenet55.py',
    ('finetune', 'pointmlp'):
    'configs/pointmlp/pointmlp_tap-shapenet55-pre_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py',
    ('finetune', 'pointnet2'): 'configs/pointnet2/'
    'pointnet2-ssg_tap-shapenet55-pre_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py',
    ('finetune', 'dgcnn'):
    'configs/dgcnn/dgcnn_tap-shapenet55-pre_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py',
    ('finetune', 'transformer'): 'configs/standard_transformer/'
    'standard-transformer_tap-shapenet55-pre_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py',
    ('finetune', 'pointmlp-partseg'): 'configs/pointmlp/'
    'pointmlp-partseg_tap-shapenet55-pre_1xb16-adamw-step-300e_shapenetpart.py',
}

# The authors' ViewTransformer passes channels_per_head (32) as both the number
# of heads and their width, takes the third column of R as the direction, and
# never appends its pad_memory to the memory.
AUTHORS_HEAD = {'model.head.num_heads': 32, 'model.head.head_dims': 32,
                'model.head.authors_direction': True, 'model.head.use_pad_token': False}
PAD_REASON = ("pad_memory: the authors' forward pass never uses it (their memory has no "
              'pad token)')

PARTSEG_ENCODER = ('embedding', 'local_grouper_list', 'pre_blocks_list', 'pos_blocks_list')
PARTSEG_DECODER = ('decode_list', 'cls_map', 'gmp_map_list', 'gmp_map_end', 'classifier')


def _backbone_of(keys: Sequence[str]) -> Optional[str]:
    """The backbone whose own (unprefixed) state-dict keys ``keys`` are, or None."""
    if 'embedding.net.0.weight' in keys and any(k.startswith('local_grouper_list.')
                                                for k in keys):
        return 'pointmlp'
    if any(k.startswith('SA_modules.') for k in keys):
        return 'pointnet2'
    if any(k.startswith('head.gconv.') for k in keys):
        return 'dgcnn'
    if 'cls_token' in keys and any(k.startswith('blocks.blocks.') for k in keys):
        return 'transformer'
    return None


def detect(keys: Sequence[str]):
    """Kind, backbone and layout of an upstream state dict from its key names.

    Returns:
        ``(kind, backbone, layout)``; layout is ``'full'`` (``encoder.*`` with the
        generator or the head), ``'encoder'`` (``encoder.*`` only) or ``'clean'``
        (the encoder's own keys, no prefix).
    """
    keys = list(keys)
    prefixes = {k.split('.', 1)[0] for k in keys}
    strip = [k[8:] for k in keys if k.startswith('encoder.')]
    if 'segmentor' in prefixes:
        kind, layout, backbone = 'finetune', 'full', _backbone_of([k[10:] for k in keys])
        if backbone is not None:
            if backbone != 'pointmlp':
                raise ConversionError(f"a part-segmentation 'segmentor' of {backbone} is "
                                      'not a released TAP model')
            backbone = 'pointmlp-partseg'
    elif 'prediction' in prefixes:
        kind, layout, backbone = 'finetune', 'full', _backbone_of(strip)
    elif prefixes & {'generator', 'decoder'}:
        kind, layout, backbone = 'pretrain', 'full', _backbone_of(strip)
    elif _backbone_of(keys) is not None:
        kind, layout, backbone = 'pretrain', 'clean', _backbone_of(keys)
    else:
        kind, layout, backbone = 'pretrain', 'encoder', _backbone_of(strip)
    if backbone is None:
        raise ConversionError(
            'not a TAP/openpoints checkpoint of PointMLP, PointNet++, DGCNN or the standard '
            f'Transformer: its keys look like {keys[:4]}')
    return kind, backbone, layout


def _pointnet2(m):
    stage, conv, part, name = m.groups()
    return f'backbone.stages.{stage}.branches.0.{3 * int(conv) + int(part)}.{name}'


def encoder_rules(backbone: str) -> List:
    """Rules from the authors' ``encoder.*`` keys to tap3d's ``backbone.*``."""
    if backbone == 'pointmlp':
        return [rename(r'encoder\.(.+)', r'backbone.\1', squeeze=True)]
    if backbone == 'pointnet2':
        return [rename(r'encoder\.SA_modules\.(\d+)\.local_aggregations\.0\.SA_CONFIG_operator'
                       r'\.convs\.(\d+)\.([01])\.(.+)', _pointnet2)]
    if backbone == 'dgcnn':
        return [
            rename(r'encoder\.head\.gconv\.nn\.([01])\.(.+)', r'backbone.edge_convs.0.conv.\1.\2'),
            rename(r'encoder\.backbone\.(\d+)\.gconv\.nn\.([01])\.(.+)',
                   lambda m: f'backbone.edge_convs.{int(m[1]) + 1}.conv.{m[2]}.{m[3]}'),
            rename(r'encoder\.fusion_block\.([01])\.(.+)', r'backbone.fusion.\1.\2'),
        ]
    return [  # transformer
        rename(r'encoder\.blocks\.blocks\.(.+)', r'backbone.blocks.\1'),
        rename(r'encoder\.(encoder\..+|reduce_dim\..+|cls_token|cls_pos|pos_embed\..+|norm\..+)',
               r'backbone.\1'),
    ]


def _prediction(m):
    block, part, name = m.groups()
    return f'head.mlp.{4 * (int(block) // 2) + int(part)}.{name}'


CLS_HEAD_RULES = [rename(r'prediction\.head\.([024])\.([01])\.(.+)', _prediction)]

PHOTOGRAPH_RULES = [
    drop(r'generator\.pad_memory', PAD_REASON),
    rename(r'generator\.feat_mlp\.(fc[12]\.(?:weight|bias))', r'head.memory_mlp.\1'),
    rename(r'generator\.query_mlp\.(fc[12]\.(?:weight|bias))', r'head.query_mlp.\1'),
    rename(r'generator\.transformer\.(\d+)\.attn1\.(.+)', r'head.blocks.\1.self_attn.\2'),
    rename(r'generator\.transformer\.(\d+)\.attn2\.(.+)', r'head.blocks.\1.cross_attn.\2'),
    rename(r'generator\.transformer\.(\d+)\.ff\.net\.(.+)', r'head.blocks.\1.ffn.net.\2'),
    rename(r'generator\.transformer\.(\d+)\.(norm[123]\..+)', r'head.blocks.\1.\2'),
    rename(r'decoder\.layer([1-4])\.0\.(weight|bias)',
           lambda m: f'head.generator.layers.{2 * (int(m[1]) - 1)}.{m[2]}'),
]

BACKBONE_ONLY_REASON = 'Photograph module and 2D generator (--backbone-only)'


def rules_for(kind: str, backbone: str, backbone_only: bool) -> List:
    if backbone == 'pointmlp-partseg':
        enc, dec = '|'.join(PARTSEG_ENCODER), '|'.join(PARTSEG_DECODER)
        return [rename(rf'segmentor\.((?:{enc})\..+)', r'backbone.\1', squeeze=True),
                rename(rf'segmentor\.((?:{dec})\..+)', r'head.\1', squeeze=True)]
    rules = encoder_rules(backbone)
    if kind == 'finetune':
        return rules + CLS_HEAD_RULES
    if backbone_only:
        return rules + [drop(r'(?:generator|decoder)\..+', BACKBONE_ONLY_REASON)]
    return rules + PHOTOGRAPH_RULES


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument('--backbone-only', action='store_true',
                        help='pre-trained input: keep only the backbone')
    args = parser.parse_args(argv)
    check_paths(args)
    ckpt, placeholders = read_checkpoint(args.input)
    source, entry = find_state_dict(ckpt, args.input, entries=('model', 'state_dict'))
    kind, backbone, layout = detect(source)
    if args.kind is not None and args.kind != kind:
        raise ConversionError(f'{args.input} is a {kind} checkpoint ({backbone}), not '
                              f'--kind {args.kind}')
    if layout == 'clean':
        source = {'encoder.' + k: v for k, v in source.items()}
    config = args.config or repo_path(DEFAULT_CONFIGS[(kind, backbone)])
    cfg_options = dict(args.cfg_options or {})
    with_head = kind == 'pretrain' and layout == 'full' and not args.backbone_only
    if with_head:
        cfg_options.update(AUTHORS_HEAD)
    model, _ = build_target(config, cfg_options)
    target = model.state_dict()
    if kind == 'pretrain':  # the TAP checkpoint keeps the backbone [+ the TAP head]
        keep = ('backbone.', 'head.') if with_head else ('backbone.', )
        target = {k: v for k, v in target.items() if k.startswith(keep)}
    conversion = convert_state_dict(source, rules_for(kind, backbone, args.backbone_only),
                                    target, args.input)
    notes = {
        'full': 'the whole model', 'encoder': 'the encoder only',
        'clean': "the encoder only (the authors' 'clean' file)"}
    lines = [f'{args.input}: TAP {kind} checkpoint of {backbone} ({notes[layout]}), '
             f"weights in '{entry}'"]
    ignored = other_entries(ckpt, entry)
    if ignored:
        lines.append(f'  not converted (training state): {ignored}')
    if placeholders:
        lines.append(f'  read as inert placeholders, not imported: {placeholders}')
    lines.append(f'  target: {relative(config)}' + (f' with {cfg_options}' if cfg_options else ''))
    if with_head:
        lines.append("  head: TAPHead computing as the authors' ViewTransformer + ViewDecoder: "
                     '32 heads x 32, direction = third column of R, no pad token')
    if kind == 'pretrain':
        lines.append(f"  fine-tune with init_cfg=dict(type='CheckedPretrained', checkpoint="
                     f"'{args.output}', prefix='backbone.')")
    meta = make_meta(UPSTREAM, args.input, entry, kind, config, cfg_options, conversion,
                     backbone=backbone, layout=layout, placeholders=placeholders)
    if isinstance(ckpt.get('epoch'), int):
        meta['epoch'] = ckpt['epoch']
    save_checkpoint(args.output, conversion.state_dict, meta)
    print_report(lines, conversion, args.output)
    return dict(conversion=conversion, kind=kind, backbone=backbone, layout=layout,
                config=config, cfg_options=cfg_options)


if __name__ == '__main__':
    sys.exit(run_tool(main))
