"""Render part segmentation: ground truth next to prediction, one colour per part.

``python tools/misc/visualize_partseg.py CONFIG CHECKPOINT [--num 4] [--start 0]
[--out-dir work_dirs/vis_partseg]`` predicts the first ``--num`` shapes of the
config's test set (from ``--start``) and writes ``partseg.png``: one row per shape,
ground truth on the left and prediction on the right, like Fig. 6 of the TAP
paper. The k-th part of a category always gets the k-th colour of the palette,
so the two columns are directly comparable; each tile is captioned with the
category and, on the prediction, the shape's part mIoU. Points are drawn with
``tap3d.rendering.render_points`` (shaded by their normals when the test
pipeline packs them as features), from TAP's oblique camera (elevation -60°).
"""
import argparse
import math
import os
import os.path as osp
import sys
from typing import List, Sequence

import numpy as np
import torch
from mmengine.config import DictAction

#: Colours of a category's 1st, 2nd, ... part (ShapeNetPart has at most 6).
PART_PALETTE = ((228, 26, 28), (55, 126, 184), (77, 175, 74), (255, 127, 0),
                (152, 78, 163), (166, 86, 40))


def part_colors(labels, first_part: int, palette: Sequence[Sequence[int]] = PART_PALETTE
                ) -> np.ndarray:
    """Colour of every point by its part's index within the category.

    Args:
        labels: (N,) global part ids.
        first_part: the category's first part id.
        palette: colours of the 1st, 2nd, ... part; a part outside the range gets
            dark grey.

    Returns:
        (N, 3) uint8.
    """
    local = np.asarray(labels).astype(np.int64).reshape(-1) - first_part
    table = np.asarray(palette, dtype=np.uint8)
    out = np.full((local.size, 3), 60, dtype=np.uint8)
    ok = (local >= 0) & (local < len(table))
    out[ok] = table[local[ok]]
    return out


def render_pair(points, normals, gt, pred, first_part: int, img_size: int = 256,
                point_radius_px: int = 2, captions=('', '')) -> np.ndarray:
    """Ground truth and prediction of one shape side by side.

    Args:
        points: (N, 3); normals: (N, 3) or None (then flat colours).
        gt, pred: (N,) global part ids.
        first_part: first part id of the shape's category.
        img_size: side of each tile.
        point_radius_px: splat radius for ``render_points``.
        captions: text drawn at the top-left of the two tiles.

    Returns:
        (img_size, 2 * img_size, 3) uint8.
    """
    from PIL import Image, ImageDraw

    from tap3d.geometry import rotation_matrix
    from tap3d.rendering import render_points
    rot = rotation_matrix(torch.tensor([math.pi / 6]), torch.tensor([-math.pi / 3])).float()
    pts = torch.as_tensor(np.asarray(points), dtype=torch.float32)
    nrm = None if normals is None else torch.as_tensor(np.asarray(normals), dtype=torch.float32)
    tiles = []
    for labels, text in zip((gt, pred), captions):
        colors = torch.from_numpy(part_colors(labels, first_part))
        img = render_points(pts, colors, rot, img_size=img_size,
                            obj_size=2 * int(img_size * 0.42), point_radius_px=point_radius_px,
                            normals=nrm)[0]
        tile = Image.fromarray(np.asarray(img.cpu()))
        if text:
            ImageDraw.Draw(tile).text((4, 4), text, fill=(0, 0, 0))
        tiles.append(np.asarray(tile))
    return np.concatenate(tiles, axis=1)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Render predicted and ground-truth parts of test shapes to a PNG')
    parser.add_argument('config', help='part segmentation config (its test set is used)')
    parser.add_argument('checkpoint', help='model checkpoint')
    parser.add_argument('--num', type=int, default=4, help='number of shapes')
    parser.add_argument('--start', type=int, default=0, help='first test-set index')
    parser.add_argument('--img-size', type=int, default=256, help='side of each tile')
    parser.add_argument('--point-radius', type=int, default=2, help='splat radius in pixels')
    parser.add_argument('--out-dir', default='work_dirs/vis_partseg')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                        help='config overrides key=value')
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error('--num must be at least 1')
    return args


def main(argv=None) -> List[str]:
    args = parse_args(argv)
    tools_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))
    if tools_dir not in sys.path:
        sys.path.insert(0, tools_dir)
    from _cli import load_config  # the tools' config loader, --cfg-options keys checked
    from mmengine.registry import init_default_scope
    from PIL import Image

    from tap3d.evaluation.metrics.partseg_metric import shape_part_iou
    from tap3d.registry import DATASETS, MODELS
    from tap3d.utils import register_all_modules

    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'{args.checkpoint}: checkpoint not found')
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'tap3d'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    stop = min(len(dataset), args.start + args.num)
    if not 0 <= args.start < stop:
        raise IndexError(f'--start {args.start} outside the test set of {len(dataset)} shapes')
    categories = dataset.metainfo['categories']
    ranges = dataset.metainfo['part_ranges']

    cfg.model.pop('init_cfg', None)
    if isinstance(cfg.model.get('backbone'), dict):
        cfg.model.backbone.pop('init_cfg', None)  # the checkpoint holds every weight
    from tap3d.utils.pretrained import load_model_weights
    model = MODELS.build(cfg.model).eval()
    # strict: a checkpoint of another model must not draw random predictions
    load_model_weights(model, args.checkpoint)
    model = model.to(args.device)

    rows = []
    for idx in range(args.start, stop):
        sample = dataset[idx]
        with torch.no_grad():
            batch = model.data_preprocessor(
                dict(inputs=[sample['inputs']], data_samples=[sample['data_samples']]), False)
            out = model(batch['inputs'], batch['data_samples'], mode='predict')[0]
        gt = sample['data_samples'].gt_part_labels.numpy()
        pred = out.pred_part_labels.cpu().numpy()
        cat = int(sample['data_samples'].gt_label.reshape(-1)[0])
        first, count = ranges[cat]
        iou = shape_part_iou(pred, gt, range(first, first + count))
        feats = sample['inputs'].get('feat')
        normals = feats[:, 3:6] if feats is not None and feats.shape[1] >= 6 else None
        rows.append(render_pair(sample['inputs']['coord'], normals, gt, pred, first,
                                args.img_size, args.point_radius,
                                (f'{categories[cat]}: ground truth',
                                 f'prediction, mIoU {100 * iou:.1f}')))
        print(f'{idx}: {categories[cat]} part mIoU {100 * iou:.2f}')
    os.makedirs(args.out_dir, exist_ok=True)
    path = osp.join(args.out_dir, 'partseg.png')
    Image.fromarray(np.concatenate(rows, axis=0)).save(path, optimize=True)
    print(f'wrote {path}')
    return [path]


if __name__ == '__main__':
    sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
