"""Render semantic segmentation: ground truth next to prediction, coloured by class.

``python tools/misc/visualize_seg.py CONFIG [CHECKPOINT] [--pred RESULTS.pkl]
[--index 0] [--out-dir work_dirs/vis_seg]`` writes ``<scene>_seg.png`` for the
chosen scene of the config's test set: a 2 x 2 panel whose columns are ground
truth and prediction and whose rows are a top view and an oblique view (TAP's
elevation of -60 degrees). Classes use the dataset's palette (ScanNet colours);
unlabelled points (-1) are dark grey.

The prediction comes from running CHECKPOINT on the scene (with the test
pipeline, so fragment voting when it makes fragments), or from ``--pred``, the
file written by ``tools/test.py CONFIG CKPT --out RESULTS.pkl`` (the entry at
``--index``). Without either, only the ground truth is drawn. Points are drawn
with ``tap3d.rendering.render_points``.
"""
import argparse
import math
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import DictAction

IGNORE_COLOR = (80, 80, 80)


def colorize_labels(labels, palette: Sequence[Sequence[int]],
                    ignore_color: Sequence[int] = IGNORE_COLOR) -> np.ndarray:
    """Class colour of every point.

    Args:
        labels: (N,) integer labels; negative = unlabelled.
        palette: K RGB triples in 0..255.
        ignore_color: colour of unlabelled points.

    Returns:
        (N, 3) uint8 colours.
    """
    labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    labels = labels.astype(np.int64).reshape(-1)
    table = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    if labels.size and labels.max() >= len(table):
        raise ValueError(f'colorize_labels: label {labels.max()} has no palette colour '
                         f'({len(table)} colours)')
    out = np.empty((labels.size, 3), dtype=np.uint8)
    valid = labels >= 0
    out[valid] = table[labels[valid]]
    out[~valid] = np.asarray(ignore_color, dtype=np.uint8)
    return out


def view_rotations(elevation: float = -math.pi / 3, azimuth: float = math.pi / 6) -> torch.Tensor:
    """A top view and an oblique view: (2, 3, 3) world-to-camera rotations (docs/tap.md §2)."""
    from tap3d.geometry import rotation_matrix
    theta = torch.tensor([0.0, azimuth], dtype=torch.float64)
    phi = torch.tensor([0.0, elevation], dtype=torch.float64)
    return rotation_matrix(theta, phi).float()


def render_seg_panel(points, gt_labels, pred_labels=None,
                     palette: Optional[Sequence[Sequence[int]]] = None, img_size: int = 512,
                     point_radius_px: int = 1) -> np.ndarray:
    """Ground truth and prediction of one scene from two views, in one image.

    Args:
        points: (N, 3) coordinates.
        gt_labels: (N,) ground-truth classes (-1 = unlabelled).
        pred_labels: (N,) predicted classes, or None to draw the ground truth only.
        palette: class colours; default the ScanNet 20-class palette.
        img_size: side of each view in pixels.
        point_radius_px: splat radius passed to ``render_points``.

    Returns:
        (2 * img_size, C * img_size, 3) uint8: rows top / oblique view, columns
        ground truth / prediction (C = 2, or 1 without a prediction).
    """
    from tap3d.rendering import render_points
    if palette is None:
        from tap3d.datasets.scannet_constants import SEG_PALETTE
        palette = SEG_PALETTE
    points = torch.as_tensor(np.asarray(points), dtype=torch.float32)
    columns = [gt_labels] + ([pred_labels] if pred_labels is not None else [])
    for name, labels in zip(('ground truth', 'prediction'), columns):
        if len(labels) != len(points):
            raise ValueError(f'render_seg_panel: {name} has {len(labels)} labels for '
                             f'{len(points)} points')
    rot = view_rotations()
    images = []
    for labels in columns:
        colors = torch.from_numpy(colorize_labels(labels, palette))
        views = render_points(points, colors, rot, framing_points=points, img_size=img_size,
                              obj_size=2 * int(img_size * 0.45), point_radius_px=point_radius_px)
        images.append(np.asarray(views.cpu() if isinstance(views, torch.Tensor) else views))
    # (views, H, W, 3) per column -> rows of views, columns of label sets
    rows = [np.concatenate([col[v] for col in images], axis=1) for v in range(rot.shape[0])]
    return np.concatenate(rows, axis=0).astype(np.uint8)


def _load_predictions(path: str, index: int) -> dict:
    from mmengine.fileio import load
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: predictions file not found')
    results = load(path)
    if not isinstance(results, (list, tuple)) or not 0 <= index < len(results):
        raise IndexError(f'{path}: no entry {index} (holds {len(results)} results)')
    entry = results[index]
    if 'pred_sem_labels' not in entry:
        raise KeyError(f'{path}: entry {index} has no pred_sem_labels (keys {sorted(entry)})')
    return entry


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Render ground truth and predicted semantic labels of a scene to PNG')
    parser.add_argument('config', help='segmentation config (its test set is used)')
    parser.add_argument('checkpoint', nargs='?', help='model checkpoint to predict with')
    parser.add_argument('--pred', help='predictions pickle from tools/test.py --out')
    parser.add_argument('--index', type=int, default=0, help='scene index in the test set')
    parser.add_argument('--img-size', type=int, default=512)
    parser.add_argument('--point-radius', type=int, default=1, help='splat radius in pixels')
    parser.add_argument('--out-dir', default='work_dirs/vis_seg')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                        help='config overrides key=value')
    args = parser.parse_args(argv)
    if args.checkpoint and args.pred:
        parser.error('give either CHECKPOINT or --pred, not both')
    return args


def main(argv=None) -> List[str]:
    args = parse_args(argv)
    tools_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))
    if tools_dir not in sys.path:
        sys.path.insert(0, tools_dir)
    from _cli import load_config  # the tools' config loader, --cfg-options keys checked
    from mmengine.registry import init_default_scope
    from PIL import Image

    from tap3d.registry import DATASETS, MODELS
    from tap3d.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)  # also imports custom_imports
    init_default_scope(cfg.get('default_scope', 'tap3d'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    if not 0 <= args.index < len(dataset):
        raise IndexError(f'--index {args.index} outside the test set of {len(dataset)} scenes')
    info = dataset.get_data_info(args.index)
    sample = dataset[args.index]
    inputs, data_sample = sample['inputs'], sample['data_samples']
    gt = data_sample.gt_sem_labels if 'gt_sem_labels' in data_sample else None

    pred = None
    if args.checkpoint:
        from tap3d.utils.pretrained import load_model_weights
        model = MODELS.build(cfg.model).eval()
        # strict: a checkpoint of another model must not draw random predictions
        load_model_weights(model, args.checkpoint)
        model = model.to(args.device)
        with torch.no_grad():
            batch = model.data_preprocessor(
                dict(inputs=[inputs], data_samples=[data_sample]), False)
            pred = model(batch['inputs'], batch['data_samples'], mode='predict')[0]
            pred = pred.pred_sem_labels.cpu()
    elif args.pred:
        pred = torch.as_tensor(np.asarray(_load_predictions(args.pred, args.index)
                                          ['pred_sem_labels']))

    # draw on the points the labels describe: the packed ones, or the whole scene
    n = len(gt) if gt is not None else len(pred) if pred is not None else len(inputs['coord'])
    if len(inputs['coord']) == n:
        points = inputs['coord'][:, :3]
    elif len(info['coord']) == n:
        points = torch.as_tensor(info['coord'])
    else:
        raise ValueError(f'{n} labels match neither the {len(inputs["coord"])} packed points '
                         f'nor the {len(info["coord"])} points of the scene')
    if gt is None:
        gt = torch.full((n, ), -1, dtype=torch.long)
    palette = (dataset.metainfo or {}).get('palette')
    panel = render_seg_panel(points, gt, pred, palette=palette, img_size=args.img_size,
                             point_radius_px=args.point_radius)
    os.makedirs(args.out_dir, exist_ok=True)
    name = info.get('scene_id', f'scene{args.index}')
    path = osp.join(args.out_dir, f'{name}_seg.png')
    Image.fromarray(panel).save(path)
    if pred is not None and gt is not None:
        keep = gt >= 0
        acc = float((pred[keep] == gt[keep]).float().mean()) if keep.any() else float('nan')
        print(f'{name}: point accuracy {100 * acc:.2f}% over {int(keep.sum())} labelled points')
    print(f'wrote {path}')
    return [path]


if __name__ == '__main__':
    sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
