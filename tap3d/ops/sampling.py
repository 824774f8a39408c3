"""Furthest point sampling (FPS) in plain torch.

FPS is sequential: sample ``i`` depends on samples ``0..i-1``. Both versions
here run ``num_samples`` iterations of a few whole-tensor ops, never sync with
the host inside the loop, and give identical indices (first maximum wins ties).
"""
import math

import torch
from torch import Tensor

from . import triton as _triton
from ._checks import check_points, working_dtype

__all__ = ['furthest_point_sample', 'naive_furthest_point_sample']


def _check_fps_args(name: str, xyz: Tensor, num_samples: int) -> None:
    check_points(name, 'xyz', xyz)
    if not isinstance(num_samples, int) or num_samples < 0:
        raise ValueError(f'{name}: `num_samples` must be a non-negative int, got {num_samples!r}')
    if num_samples > 0 and xyz.shape[1] == 0:
        raise ValueError(f'{name}: cannot sample {num_samples} points from an empty cloud')


def furthest_point_sample(xyz: Tensor, num_samples: int) -> Tensor:
    """Iterative furthest point sampling, starting at index 0 like the CUDA op.

    Each step picks the point whose squared distance to the already chosen
    set is largest; among equal distances the lowest index wins. When
    ``num_samples > N`` every point is chosen once, then index 0 repeats
    (all remaining distances are 0), as in the reference loop.

    Distances are computed in float32 (float64 inputs stay float64).
    CUDA tensors run the Triton kernel (one launch, the same indices) when
    Triton is available, see :mod:`tap3d.ops.triton`.

    Args:
        xyz: ``(B, N, 3)`` point coordinates.
        num_samples: ``M``, the number of points to pick.

    Returns:
        ``(B, M)`` long tensor of indices into ``N``.
    """
    _check_fps_args('furthest_point_sample', xyz, num_samples)
    if _triton.use_triton('furthest_point_sample', xyz):
        return _triton.furthest_point_sample(xyz, num_samples)
    batch, num_points, _ = xyz.shape
    device = xyz.device
    out = torch.zeros(num_samples, batch, dtype=torch.long, device=device)  # (M, B)
    if num_samples <= 1:
        return out.t()
    # No gradient flows through indices, and autocast must not lower the precision.
    with torch.no_grad():
        pts = xyz.detach().to(working_dtype(xyz))
        # (3, B, N) planes: each per-axis op runs over contiguous memory.
        planes = pts.permute(2, 0, 1).contiguous()
        flat = pts.reshape(batch * num_points, 3)
        base = torch.arange(batch, device=device) * num_points

        # argmax over (B, N) is a slow scalar loop on CPU while amax is vectorised:
        # take the max of each block of `blk` points (fast), argmax over the few
        # block maxima, then argmax inside the winning block. The first block
        # holding the maximum and the first maximum inside it give exactly the
        # first global maximum, so ties resolve as in the reference loop.
        blk = 1 << max(3, math.ceil(math.log2(math.sqrt(num_points))))
        num_blocks = -(-num_points // blk)
        # Padding slots hold -1: real distances are >= 0, so padding never wins.
        mind_full = torch.full((batch, num_blocks * blk), -1.0, dtype=pts.dtype, device=device)
        mind_full[:, :num_points] = float('inf')
        mind = mind_full[:, :num_points]
        blocks = mind_full.view(batch, num_blocks, blk)

        diff = torch.empty_like(planes)
        dist = torch.empty(batch, num_points, dtype=pts.dtype, device=device)
        block_max = torch.empty(batch, num_blocks, dtype=pts.dtype, device=device)
        block_idx = torch.empty(batch, dtype=torch.long, device=device)
        inner_idx = torch.empty(batch, dtype=torch.long, device=device)
        for i in range(1, num_samples):
            centre = flat.index_select(0, out[i - 1] + base).t().unsqueeze(-1)  # (3, B, 1)
            torch.sub(planes, centre, out=diff)
            # Summed x, then y, then z: the same rounding as the reference loop.
            torch.mul(diff[0], diff[0], out=dist)
            dist.addcmul_(diff[1], diff[1]).addcmul_(diff[2], diff[2])
            torch.minimum(mind, dist, out=mind)
            torch.amax(blocks, 2, out=block_max)
            torch.argmax(block_max, 1, out=block_idx)
            window = blocks.gather(1, block_idx.view(batch, 1, 1).expand(batch, 1, blk))
            torch.argmax(window.view(batch, blk), 1, out=inner_idx)
            torch.add(inner_idx, block_idx, alpha=blk, out=out[i])
    return out.t()


def naive_furthest_point_sample(xyz: Tensor, num_samples: int) -> Tensor:
    """The reference FPS loop (PointMLP/PointNet++ python version), from index 0.

    Every step recomputes ``sum((xyz - centroid) ** 2, -1)`` over ``(B, N, 3)``
    and takes ``max(distance)``. Kept as the "reference variant" for
    benchmarks, ablations and tests; it returns the same indices as
    :func:`furthest_point_sample`, only slower.

    Args:
        xyz: ``(B, N, 3)`` point coordinates.
        num_samples: ``M``, the number of points to pick.

    Returns:
        ``(B, M)`` long tensor of indices into ``N``.
    """
    _check_fps_args('naive_furthest_point_sample', xyz, num_samples)
    batch, num_points, _ = xyz.shape
    device = xyz.device
    with torch.no_grad():
        pts = xyz.detach().to(working_dtype(xyz))
        centroids = torch.zeros(batch, num_samples, dtype=torch.long, device=device)
        distance = torch.full((batch, num_points), 1e10, dtype=pts.dtype, device=device)
        farthest = torch.zeros(batch, dtype=torch.long, device=device)
        batch_indices = torch.arange(batch, device=device)
        for i in range(num_samples):
            centroids[:, i] = farthest
            centroid = pts[batch_indices, farthest, :].view(batch, 1, 3)
            dist = torch.sum((pts - centroid) ** 2, -1)
            distance = torch.min(distance, dist)
            farthest = torch.max(distance, -1)[1]
    return centroids
