"""Axis-aligned 3D boxes, the one module for them: IoU (torch and numpy), GIoU,
NMS, corners, and the rotation, flip and scale that augmentations apply.

A box is ``(cx, cy, cz, dx, dy, dz)``: its centre and its full edge lengths along
x, y and z. ScanNet detection boxes are axis-aligned, so every quantity here is
exact and cheap (a product of 1-d interval overlaps) and differentiable where a
loss needs it. The transforms, the 3DETR head and criterion, and the detection
metric all use these functions.
"""
import math
from typing import Sequence, Union

import numpy as np
import torch
from torch import Tensor

__all__ = [
    'box3d_to_minmax', 'axis_aligned_iou_3d', 'axis_aligned_iou_3d_np', 'axis_aligned_giou_3d',
    'nms_3d', 'class_aware_nms_3d', 'box3d_corners', 'rotation_about_axis', 'rotate_boxes',
    'flip_boxes', 'scale_boxes'
]


def _check_boxes(boxes: Tensor, name: str) -> None:
    if boxes.shape[-1] != 6:
        raise ValueError(f'box3d: {name} must end in 6 values (cx, cy, cz, dx, dy, dz), '
                         f'got shape {tuple(boxes.shape)}')


def box3d_to_minmax(boxes: Tensor) -> Tensor:
    """Centre-size boxes ``(..., 6)`` to corner form ``(..., 6)``:
    ``(xmin, ymin, zmin, xmax, ymax, zmax)``."""
    _check_boxes(boxes, 'boxes')
    half = boxes[..., 3:6] / 2
    return torch.cat([boxes[..., :3] - half, boxes[..., :3] + half], dim=-1)


def _pairwise_inter_union(boxes1: Tensor, boxes2: Tensor):
    """Intersection, union and enclosing volume for every pair.

    boxes1 ``(..., N, 6)``, boxes2 ``(..., M, 6)`` -> three ``(..., N, M)`` tensors.
    """
    _check_boxes(boxes1, 'boxes1')
    _check_boxes(boxes2, 'boxes2')
    a = box3d_to_minmax(boxes1).unsqueeze(-2)  # (..., N, 1, 6)
    b = box3d_to_minmax(boxes2).unsqueeze(-3)  # (..., 1, M, 6)
    lo = torch.maximum(a[..., :3], b[..., :3])
    hi = torch.minimum(a[..., 3:], b[..., 3:])
    inter = (hi - lo).clamp(min=0).prod(dim=-1)
    vol1 = boxes1[..., 3:6].clamp(min=0).prod(dim=-1).unsqueeze(-1)
    vol2 = boxes2[..., 3:6].clamp(min=0).prod(dim=-1).unsqueeze(-2)
    union = vol1 + vol2 - inter
    enc_lo = torch.minimum(a[..., :3], b[..., :3])
    enc_hi = torch.maximum(a[..., 3:], b[..., 3:])
    enclosing = (enc_hi - enc_lo).clamp(min=0).prod(dim=-1)
    return inter, union, enclosing


def axis_aligned_iou_3d(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-8) -> Tensor:
    """Pairwise 3D IoU of axis-aligned boxes.

    Args:
        boxes1: ``(..., N, 6)`` centre-size boxes.
        boxes2: ``(..., M, 6)`` centre-size boxes (same leading dims).

    Returns:
        ``(..., N, M)`` IoU in [0, 1].
    """
    inter, union, _ = _pairwise_inter_union(boxes1, boxes2)
    return inter / union.clamp(min=eps)


def axis_aligned_iou_3d_np(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """:func:`axis_aligned_iou_3d` for numpy arrays, in float64.

    Args:
        boxes1: ``(N, 6)``; boxes2: ``(M, 6)`` centre-size boxes.

    Returns:
        ``(N, M)`` float64 IoU.
    """
    a = torch.from_numpy(np.asarray(boxes1, np.float64).reshape(-1, 6))
    b = torch.from_numpy(np.asarray(boxes2, np.float64).reshape(-1, 6))
    return axis_aligned_iou_3d(a, b, eps=1e-12).numpy()


def axis_aligned_giou_3d(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-8) -> Tensor:
    """Pairwise generalised IoU (Rezatofighi et al.) of axis-aligned boxes.

    ``GIoU = IoU - (V_enclosing - V_union) / V_enclosing``, in [-1, 1].

    Args:
        boxes1: ``(..., N, 6)``; boxes2: ``(..., M, 6)``.

    Returns:
        ``(..., N, M)``, differentiable in both inputs.
    """
    inter, union, enclosing = _pairwise_inter_union(boxes1, boxes2)
    iou = inter / union.clamp(min=eps)
    return iou - (enclosing - union) / enclosing.clamp(min=eps)


def box3d_corners(boxes: Tensor) -> Tensor:
    """The 8 corners of each axis-aligned box.

    Args:
        boxes: ``(..., 6)``.

    Returns:
        ``(..., 8, 3)``; corner ``i`` takes x from max if bit 0 of i is set, y from
        bit 1 and z from bit 2, so corners i and j share an edge iff i ^ j is a
        power of two.
    """
    mm = box3d_to_minmax(boxes)
    bits = torch.arange(8, device=boxes.device)
    sel = torch.stack([(bits >> k) & 1 for k in range(3)], dim=-1).bool()  # (8, 3)
    lo = mm[..., None, :3].expand(*mm.shape[:-1], 8, 3)
    hi = mm[..., None, 3:].expand(*mm.shape[:-1], 8, 3)
    return torch.where(sel, hi, lo)


def nms_3d(boxes: Tensor, scores: Tensor, iou_thr: float) -> Tensor:
    """Greedy 3D NMS: keep the best box, drop every box overlapping it by more
    than ``iou_thr``, repeat.

    Args:
        boxes: ``(K, 6)``; scores: ``(K,)``.

    Returns:
        ``(K',)`` long indices of the kept boxes, by decreasing score.
    """
    _check_boxes(boxes, 'boxes')
    if boxes.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    order = scores.argsort(descending=True)
    iou = axis_aligned_iou_3d(boxes[order], boxes[order])
    # Sequential over the sorted list; the pairwise IoU is computed once.
    suppressed = torch.zeros(order.numel(), dtype=torch.bool, device=boxes.device)
    keep = []
    iou_cpu = iou.detach().cpu()
    supp = suppressed.cpu()
    for i in range(order.numel()):
        if supp[i]:
            continue
        keep.append(i)
        supp |= iou_cpu[i] > iou_thr
    keep = torch.as_tensor(keep, dtype=torch.long, device=boxes.device)
    return order[keep]


def class_aware_nms_3d(boxes: Tensor, scores: Tensor, labels: Tensor,
                       iou_thr: float) -> Tensor:
    """3D NMS that only lets boxes of the same label suppress each other.

    Args:
        boxes: ``(K, 6)``; scores: ``(K,)``; labels: ``(K,)`` integer classes.

    Returns:
        ``(K',)`` long indices of the kept boxes, by decreasing score.
    """
    if boxes.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    # Shift each class far apart so boxes of different classes never overlap,
    # then one NMS pass handles every class.
    span = (box3d_to_minmax(boxes)[:, 3:].max() - box3d_to_minmax(boxes)[:, :3].min())
    offset = labels.to(boxes.dtype)[:, None] * (span.abs() + 1.0) * 2
    shifted = boxes.clone()
    shifted[:, :3] = shifted[:, :3] + offset
    return nms_3d(shifted, scores, iou_thr)


# ---- transforms of boxes (numpy, as in the data pipelines) ----------------------------

def rotation_about_axis(angle: float, axis: int = 2) -> np.ndarray:
    """(3, 3) right-handed rotation by ``angle`` radians about coordinate ``axis``.

    The one rotation builder of the data pipelines: points turn as ``p @ R.T``.
    """
    c, s = math.cos(angle), math.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    rot = np.eye(3)
    rot[i, i], rot[i, j], rot[j, i], rot[j, j] = c, -s, s, c
    return rot


def rotate_boxes(boxes: np.ndarray, rot: np.ndarray,
                 center: Union[Sequence[float], np.ndarray] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """Rotate axis-aligned boxes about ``center`` and re-fit them.

    Args:
        boxes: (K, 6) ``cx cy cz dx dy dz``.
        rot: (3, 3) rotation applied as ``p' = rot @ (p - center) + center``.
        center: (3,) rotation centre.

    Returns:
        (K, 6) float32 boxes enclosing the rotated ones: centres turned, sizes
        ``|rot| @ d`` (the enclosing box grows unless rot permutes axes).
    """
    center = np.asarray(center, dtype=np.float64)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 6)
    out = np.empty_like(boxes)
    out[:, :3] = (boxes[:, :3] - center) @ rot.T + center
    out[:, 3:6] = boxes[:, 3:6] @ np.abs(rot).T
    return out.astype(np.float32)


def flip_boxes(boxes: np.ndarray, axis: int) -> np.ndarray:
    """Mirror boxes (K, 6) across the plane ``coordinate[axis] = 0``; sizes stay."""
    out = np.array(boxes, dtype=np.float32).reshape(-1, 6)
    out[:, axis] = -out[:, axis]
    return out


def scale_boxes(boxes: np.ndarray, factor: Union[float, np.ndarray]) -> np.ndarray:
    """Scale boxes (K, 6) about the origin by ``factor`` (scalar or (3,) per axis)."""
    factor = np.broadcast_to(np.asarray(factor, dtype=np.float32), (3, ))
    out = np.array(boxes, dtype=np.float32).reshape(-1, 6)
    out[:, :3] *= factor
    out[:, 3:6] *= factor
    return out
