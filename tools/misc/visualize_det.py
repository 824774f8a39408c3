"""Draw ground-truth and predicted 3D boxes over renders of a scene's points.

``python tools/misc/visualize_det.py CONFIG [--checkpoint CKPT] [--index 0]
[--score-thr 0.3] [--out-dir work_dirs/vis_det]`` writes, for the chosen scene of
the config's test set, ``<scene>_top.png`` (looking down the z axis) and
``<scene>_oblique.png`` (elevation -60°, TAP's view elevation). Ground truth is
green, predictions red. Without ``--checkpoint`` only the ground truth is drawn.

The points are rendered with ``tap3d.rendering.render_points`` and the box edges
are projected with the same framing (``tap3d.geometry.compute_framing``), so a
box edge lies exactly on the points it encloses.
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

# Box edges: corner indices differing in exactly one bit (see box3d_corners).
EDGES = [(i, i | (1 << k)) for i in range(8) for k in range(3) if not i & (1 << k)]
GT_COLOR = (0, 170, 0)
PRED_COLOR = (220, 30, 30)


def view_rotations(oblique_elevation: float = -math.pi / 3, azimuth: float = math.pi / 6):
    """Top view (elevation 0: the camera looks along z) and one oblique view.

    Returns:
        ``(2, 3, 3)`` world-to-camera rotations (docs/tap.md §2 poses).
    """
    from tap3d.geometry import rotation_matrix
    theta = torch.tensor([0.0, azimuth], dtype=torch.float64)
    phi = torch.tensor([0.0, oblique_elevation], dtype=torch.float64)
    return rotation_matrix(theta, phi).float()


def project_boxes(boxes: torch.Tensor, rotations: torch.Tensor, s: torch.Tensor,
                  b: torch.Tensor) -> torch.Tensor:
    """Pixel coordinates of box corners in every view.

    Args:
        boxes: ``(K, 6)`` centre-size boxes; rotations: ``(V, 3, 3)``;
        s: ``(V,)`` and b: ``(V, 2)`` of the framing.

    Returns:
        ``(V, K, 8, 2)`` continuous (row, col) pixel coordinates.
    """
    from tap3d.geometry import project_points
    from tap3d.geometry.boxes import box3d_corners
    k = boxes.shape[0]
    corners = box3d_corners(boxes.float()).reshape(1, k * 8, 3)
    uv = project_points(corners, rotations[None], s[None], b[None])[0]  # (V, K*8, 2)
    return uv.reshape(rotations.shape[0], k, 8, 2)


def draw_boxes(image: np.ndarray, corners_px: torch.Tensor, color: Sequence[int],
               width: int = 2) -> np.ndarray:
    """Draw box edges on an ``(H, W, 3)`` uint8 image.

    Args:
        corners_px: ``(K, 8, 2)`` (row, col) pixel coordinates of box corners.

    Returns:
        A new ``(H, W, 3)`` uint8 image.
    """
    from PIL import Image, ImageDraw
    img = Image.fromarray(np.ascontiguousarray(image))
    draw = ImageDraw.Draw(img)
    for box in corners_px.tolist():
        for i, j in EDGES:
            # PIL takes (x, y) = (column, row).
            draw.line([(box[i][1], box[i][0]), (box[j][1], box[j][0])], fill=tuple(color),
                      width=width)
    return np.asarray(img)


def render_scene_with_boxes(points: torch.Tensor, colors: Optional[torch.Tensor],
                            gt_boxes: Optional[torch.Tensor],
                            pred_boxes: Optional[torch.Tensor], img_size: int = 512,
                            point_radius_px: int = 1) -> List[np.ndarray]:
    """Top and oblique renders of a scene with its boxes.

    Args:
        points: ``(N, 3)``; colors: ``(N, 3)`` in [0, 1] or None (grey).
        gt_boxes, pred_boxes: ``(K, 6)`` or None.

    Returns:
        Two ``(img_size, img_size, 3)`` uint8 images: top view, oblique view.
    """
    from tap3d.geometry import compute_framing
    from tap3d.rendering import render_points
    points = points.float()
    if colors is None:
        colors = torch.full_like(points, 0.55)
    rot = view_rotations().to(points.device)
    obj_size = int(img_size * 0.9)
    views = render_points(points, colors.float(), rot, framing_points=points,
                          img_size=img_size, obj_size=obj_size,
                          point_radius_px=point_radius_px)
    views = views.cpu().numpy() if isinstance(views, torch.Tensor) else np.asarray(views)
    if views.shape[-1] != 3:  # channel-first -> channel-last
        views = views.transpose(0, 2, 3, 1)
    if views.dtype != np.uint8:
        views = (np.clip(views, 0, 1) * 255).round().astype(np.uint8)
    s, b = compute_framing(points[None], rot[None], img_size=img_size, obj_size=obj_size)
    s, b = s[0], b[0]
    out = []
    for v in range(rot.shape[0]):
        img = views[v]
        for boxes, color in ((gt_boxes, GT_COLOR), (pred_boxes, PRED_COLOR)):
            if boxes is not None and len(boxes):
                px = project_boxes(boxes.to(points.device), rot[v:v + 1], s[v:v + 1],
                                   b[v:v + 1])[0]
                img = draw_boxes(img, px.cpu(), color)
        out.append(img)
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Render a scene with its 3D boxes to PNG')
    parser.add_argument('config', help='detection config (its test set is used)')
    parser.add_argument('--checkpoint', help='model checkpoint; omit to draw ground truth only')
    parser.add_argument('--index', type=int, default=0, help='scene index in the test set')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='draw predictions scoring at least this')
    parser.add_argument('--img-size', type=int, default=512)
    parser.add_argument('--out-dir', default='work_dirs/vis_det')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                        help='config overrides key=value')
    return parser.parse_args(argv)


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
    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'tap3d'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    if not 0 <= args.index < len(dataset):
        raise IndexError(f'--index {args.index} outside the test set of {len(dataset)} scenes')
    sample = dataset[args.index]
    inputs, data_sample = sample['inputs'], sample['data_samples']
    points = inputs['coord'][:, :3]
    info = dataset.get_data_info(args.index)
    gt = data_sample.gt_bboxes_3d if 'gt_bboxes_3d' in data_sample else None
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
            res = model(batch['inputs'], batch['data_samples'], mode='predict')[0]
        keep = res.pred_scores_3d >= args.score_thr
        pred = res.pred_bboxes_3d[keep].cpu()
        print(f'{int(keep.sum())} predicted boxes score >= {args.score_thr}')
    # Colour from the raw scene when the pipeline dropped it.
    colors = None
    if info.get('color') is not None and len(info['color']) == len(points):
        colors = torch.as_tensor(np.asarray(info['color']) / 255.0)
    images = render_scene_with_boxes(points, colors, gt, pred, img_size=args.img_size)
    os.makedirs(args.out_dir, exist_ok=True)
    name = info.get('scene_id', f'scene{args.index}')
    paths = []
    for tag, img in zip(('top', 'oblique'), images):
        path = osp.join(args.out_dir, f'{name}_{tag}.png')
        Image.fromarray(img).save(path)
        paths.append(path)
        print(f'wrote {path}')
    return paths


if __name__ == '__main__':
    sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
