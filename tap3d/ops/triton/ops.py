"""Host side of the Triton point ops: allocate the outputs, launch one kernel.

Each function has the contract of the torch op of the same name in
:mod:`tap3d.ops` and expects arguments that op has already checked. Each
launches exactly one kernel (none for empty inputs) and dispatches no other
aten op that runs on the device (outputs are allocated with ``torch.empty``;
inputs that are already contiguous are used as they are).

CUDA tensors run the compiled kernels. CPU tensors run them only in
Triton's interpreter, which needs ``TRITON_INTERPRET=1`` in the environment
before ``triton`` is imported (its standard library is built at import):
that is how the kernels are tested on machines without a GPU.
"""
import importlib
import os
from typing import Tuple

import torch
from torch import Tensor

__all__ = ['furthest_point_sample', 'knn', 'knn_offset', 'ball_query']


def interpreting() -> bool:
    """Whether Triton runs kernels in its interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get('TRITON_INTERPRET', '0') == '1'


def _launch(x: Tensor, name: str, grid: Tuple[int, ...], *args, **meta) -> None:
    """Run kernel ``name`` of :mod:`.kernels` on ``x``'s device over ``grid``."""
    if 0 in grid:
        return
    if x.device.type != 'cuda' and not interpreting():
        raise RuntimeError(
            f'tap3d.ops.triton: {x.device.type} tensors run the Triton kernels only in '
            "Triton's interpreter: set TRITON_INTERPRET=1 before triton is imported")
    kernel = getattr(importlib.import_module(__package__ + '.kernels'), name)
    # Unfused multiply-adds: the same rounding as the torch ops (see kernels.py).
    meta.setdefault('enable_fp_fusion', False)
    if x.device.type == 'cuda':
        with torch.cuda.device(x.device):
            kernel[grid](*args, **meta)
    else:
        kernel[grid](*args, **meta)


def _pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def _coords(x: Tensor) -> Tensor:
    """Detached contiguous coordinates in their own dtype (kernels convert as they load)."""
    return x.detach().contiguous()


def _acc_dtype(x: Tensor) -> torch.dtype:
    """The torch ops' working dtype: float64 stays, everything else is float32."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def furthest_point_sample(xyz: Tensor, num_samples: int) -> Tensor:
    """Triton FPS: one program per cloud runs the whole loop.

    Same contract and result as :func:`tap3d.ops.furthest_point_sample`:
    index 0 first, ties to the lowest index, index 0 repeated once every
    point is chosen, distances in float32 (float64 for float64 input).

    Args:
        xyz: ``(B, N, 3)`` point coordinates, ``N >= 1`` unless ``num_samples == 0``.
        num_samples: ``M >= 0``.

    Returns:
        ``(B, M)`` long indices into ``N``.
    """
    batch, num_points, _ = xyz.shape
    out = torch.empty(batch, num_samples, dtype=torch.long, device=xyz.device)
    if num_samples == 0 or batch == 0:
        return out
    pts = _coords(xyz)
    mind = torch.empty(batch, num_points, dtype=_acc_dtype(xyz), device=xyz.device)
    block = min(_pow2(num_points), 4096)
    _launch(xyz, 'fps_kernel', (batch, ), pts, mind, out, num_points, num_samples,
            BLOCK_N=block, FP64=xyz.dtype == torch.float64,
            num_warps=4 if block <= 1024 else 8 if block <= 2048 else 16)
    return out


def _knn_blocks(keff: int) -> Tuple[int, int, int]:
    """(BLOCK_Q, BLOCK_N, KP): register slots for ``keff`` neighbours, queries per program."""
    kp = max(2, _pow2(keff))
    return max(4, min(32, 1024 // kp)), 64, kp


def knn(query: Tensor, ref: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """Triton kNN with the contract of :func:`tap3d.ops.knn`.

    The same neighbours with the same exact, ascending distances; among equal
    distances the lower index comes first (and wins the k-th place). Slots
    past ``N`` (``k > N``) repeat the nearest neighbour.

    Args:
        query: ``(B, M, 3)`` query points.
        ref: ``(B, N, 3)`` reference points, ``N >= 1``.
        k: ``>= 1`` neighbours, ``min(k, N) <= dispatch.MAX_K``.

    Returns:
        ``dist2`` ``(B, M, k)`` (float32, or float64 for a float64 ``ref``) and
        ``idx`` ``(B, M, k)`` long.
    """
    batch, num_query, _ = query.shape
    num_ref = ref.shape[1]
    dist2 = torch.empty(batch, num_query, k, dtype=_acc_dtype(ref), device=query.device)
    idx = torch.empty(batch, num_query, k, dtype=torch.long, device=query.device)
    block_q, block_n, kp = _knn_blocks(min(k, num_ref))
    # (The offset pointers are unused in the batched form.)
    _launch(query, 'knn_kernel', (-(-num_query // block_q), batch), _coords(query), _coords(ref),
            idx, idx, dist2, idx, num_query, num_ref, k, 0, OFFSETS=False, BLOCK_Q=block_q,
            BLOCK_N=block_n, KP=kp, FP64=ref.dtype == torch.float64)
    return dist2, idx


def knn_offset(query: Tensor, query_offset: Tensor, ref: Tensor, ref_offset: Tensor,
               k: int) -> Tuple[Tensor, Tensor]:
    """Triton kNN for offset-form batches, all samples in one launch.

    Contract of :func:`tap3d.ops.knn_offset` (offsets already validated,
    every sample with queries has reference points); ties as in :func:`knn`.

    Args:
        query: ``(ΣM, 3)``; query_offset: ``(B,)`` end indices.
        ref: ``(ΣN, 3)``; ref_offset: ``(B,)`` end indices.
        k: ``>= 1`` neighbours.

    Returns:
        ``dist2`` ``(ΣM, k)`` ascending and ``idx`` ``(ΣM, k)`` long indices
        into the concatenated ``ref``.
    """
    num_query, num_ref = query.shape[0], ref.shape[0]
    dtype = _acc_dtype(ref) if num_query else _acc_dtype(query)
    dist2 = torch.empty(num_query, k, dtype=dtype, device=query.device)
    idx = torch.empty(num_query, k, dtype=torch.long, device=query.device)
    block_q, block_n, kp = _knn_blocks(min(k, num_ref))
    _launch(query, 'knn_kernel', (-(-num_query // block_q), ), _coords(query), _coords(ref),
            query_offset.contiguous(), ref_offset.contiguous(), dist2, idx, num_query, num_ref,
            k, query_offset.numel(), OFFSETS=True, BLOCK_Q=block_q, BLOCK_N=block_n, KP=kp,
            FP64=ref.dtype == torch.float64)
    return dist2, idx


def ball_query(query: Tensor, ref: Tensor, radius: float, num_samples: int) -> Tensor:
    """Triton ball query with the contract of :func:`tap3d.ops.ball_query`.

    The first ``num_samples`` reference points with squared distance
    ``< radius**2`` in index order, missing slots repeating the first; an
    empty ball gives the nearest point (lowest index among ties) in every slot.
    Distances are exact differences, as in the CUDA op of PointNet++; the
    torch op ranks by the matmul expansion, so a point within rounding of the
    sphere may fall on either side.

    Args:
        query: ``(B, M, 3)`` ball centres.
        ref: ``(B, N, 3)`` reference points, ``N >= 1``.
        radius: ball radius (> 0).
        num_samples: ``K >= 1`` slots per ball.

    Returns:
        ``(B, M, K)`` long indices into ``N``.
    """
    batch, num_query, _ = query.shape
    idx = torch.empty(batch, num_query, num_samples, dtype=torch.long, device=query.device)
    block_q = 16
    _launch(query, 'ball_query_kernel', (-(-num_query // block_q), batch), _coords(query),
            _coords(ref), idx, num_query, ref.shape[1], num_samples, float(radius) * float(radius),
            BLOCK_Q=block_q, BLOCK_N=64, BLOCK_K=min(64, _pow2(num_samples)),
            FP64=ref.dtype == torch.float64)
    return idx
