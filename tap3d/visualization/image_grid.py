"""Image grids for comparing generated and ground-truth views."""
import os

import numpy as np
import torch


def _to_uint8(images):
    """(..., 3, H, W) float in [0, 1] or uint8 -> (..., H, W, 3) uint8 numpy."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    images = images.detach().cpu()
    if images.dtype != torch.uint8:
        images = (images.float().clamp(0, 1) * 255).round().to(torch.uint8)
    return images.movedim(-3, -1).numpy()


def make_image_grid(rows, pad=2, pad_value=255):
    """Tile rows of images into one picture.

    Args:
        rows (list[Tensor]): each (K, 3, H, W), float in [0, 1] or uint8; all rows
            share H and W (rows may have different K).
        pad (int): pixels between tiles.
        pad_value (int): grey level of the padding (255 = white).

    Returns:
        np.ndarray: (R * (H + pad) + pad, K_max * (W + pad) + pad, 3) uint8.
    """
    if not rows:
        raise ValueError('make_image_grid: no rows given')
    rows = [_to_uint8(r) for r in rows]
    H, W = rows[0].shape[1:3]
    for r in rows:
        if r.shape[1:3] != (H, W):
            raise ValueError(f'make_image_grid: images differ in size: {(H, W)} vs '
                             f'{r.shape[1:3]}')
    k_max = max(r.shape[0] for r in rows)
    grid = np.full((len(rows) * (H + pad) + pad, k_max * (W + pad) + pad, 3), pad_value,
                   dtype=np.uint8)
    for i, r in enumerate(rows):
        for j, img in enumerate(r):
            y, x = pad + i * (H + pad), pad + j * (W + pad)
            grid[y:y + H, x:x + W] = img
    return grid


def make_view_grid(gt_views, pred_views, pad=2):
    """Ground truth above prediction, one pair of rows per sample.

    Args:
        gt_views, pred_views: (S, V, 3, H, W) (or lists of (V, 3, H, W)).

    Returns:
        np.ndarray: (2 * S * (H + pad) + pad, V * (W + pad) + pad, 3) uint8.
    """
    if len(gt_views) != len(pred_views):
        raise ValueError(f'make_view_grid: {len(gt_views)} ground-truth samples but '
                         f'{len(pred_views)} predictions')
    rows = []
    for gt, pred in zip(gt_views, pred_views):
        rows += [gt, pred]
    return make_image_grid(rows, pad=pad)


def save_image(path, image):
    """Write an (H, W, 3) uint8 array as PNG, creating the folder."""
    from PIL import Image
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    Image.fromarray(image).save(path)
