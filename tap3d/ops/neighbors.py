"""Neighbour search in plain torch: kNN, ball query, three-NN.

Pairwise squared distances come from the expansion
``|q|^2 + |r|^2 - 2 q.r`` (one batched matmul), computed in float32 with
autocast off, after centring both clouds on the reference cloud's mean so
that large scene coordinates lose little precision. The query rows are
processed in chunks so that at most ``_CHUNK_ELEMS`` distances exist at once.
"""
import math
from typing import Optional, Tuple

import torch
from torch import Tensor

from . import triton as _triton
from ._checks import check_offset, check_points, working_dtype

__all__ = ['knn', 'knn_offset', 'ball_query', 'three_nn']

# Upper bound on the (chunk, N) distance entries alive at once, summed over the batch.
_CHUNK_ELEMS = 1 << 25


def _chunk_rows(batch: int, num_ref: int, chunk_size: Optional[int]) -> int:
    if chunk_size is not None:
        if chunk_size < 1:
            raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')
        return chunk_size
    return max(1, _CHUNK_ELEMS // max(1, batch * num_ref))


def _centred(query: Tensor, ref: Tensor) -> Tuple[Tensor, Tensor]:
    dtype = working_dtype(ref)
    query, ref = query.to(dtype), ref.to(dtype)
    centre = ref.mean(dim=1, keepdim=True) if ref.shape[1] > 0 else 0.0
    return query - centre, ref - centre


def _partial_sqdist(query: Tensor, ref: Tensor, ref_sq: Tensor) -> Tensor:
    """``|r|^2 - 2 q.r`` of shape (B, m, N): the squared distance minus ``|q|^2``.

    ``|q|^2`` is constant along a row, so rankings along N need only this part.
    """
    return torch.baddbmm(ref_sq.unsqueeze(1), query, ref.transpose(1, 2), alpha=-2.0)


def _exact_sqdist(query: Tensor, ref: Tensor, idx: Tensor) -> Tensor:
    """Exact ``|q - r_idx|^2`` of chosen neighbours.

    Shapes: query (B, m, 3), ref (B, N, 3), idx (B, m, k) -> (B, m, k).
    """
    batch, rows, k = idx.shape
    picked = ref.gather(1, idx.reshape(batch, rows * k, 1).expand(-1, -1, 3))
    diff = picked.view(batch, rows, k, 3) - query.unsqueeze(2)
    return (diff * diff).sum(-1)


def _group_size(num_ref: int, k: int) -> int:
    """Points per group for the two-stage selection in :func:`_smallest_k` (1 = one stage).

    For ``N >= 4k`` the group count ``ceil(N / g)`` is about ``sqrt(N k) >= k``,
    as :func:`_smallest_k` requires.
    """
    if num_ref < 4 * k:
        return 1
    # Balances the two selections: N / g group minima, then k * g candidates.
    return max(2, round(math.sqrt(num_ref / k)))


def _smallest_k(dist: Tensor, k: int, group: int) -> Tensor:
    """Indices of the ``k`` smallest entries of each row: (B, m, N) -> (B, m, k), unsorted.

    With ``group > 1``, ``N == group * G`` and ``G >= k``: the row is split
    into ``G`` strided groups ``{j, j + G, ...}``. Let ``t`` be the k-th
    smallest group minimum; the k groups with minima ``<= t`` hold k entries
    ``<= t``, so each of the k smallest entries is ``<= t`` and its group's
    minimum is too: only the k groups with the smallest minima need
    searching (ties at ``t`` only swap equal values). Two small top-k
    selections thus replace one large one; on CPU ``topk`` costs far more
    per row than the element-wise minimum this adds.
    """
    if group == 1:
        return dist.topk(k, dim=-1, largest=False, sorted=False).indices
    batch, rows, num = dist.shape
    num_groups = num // group
    grouped = dist.view(batch, rows, group, num_groups)
    group_idx = grouped.amin(2).topk(k, dim=-1, largest=False, sorted=False).indices
    cand = grouped.gather(3, group_idx.unsqueeze(2).expand(-1, -1, group, -1))  # (B, m, g, k)
    pos = cand.flatten(2).topk(k, dim=-1, largest=False, sorted=False).indices
    # Candidate pos = s * k + t is entry s * G + group_idx[t] of the row.
    return (pos // k) * num_groups + group_idx.gather(-1, pos % k)


def knn(query: Tensor,
        ref: Tensor,
        k: int,
        chunk_size: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """k nearest neighbours of each query point among the reference points.

    Candidates are ranked with the matmul expansion (selected in two stages
    for large ``N``, see :func:`_smallest_k`), then the distances of
    the ``k`` winners are recomputed exactly from coordinates and the ``k``
    slots re-sorted, so ``dist2`` is exact and ascending. Among equal
    distances the order (and, at the k-th place, the choice) is unspecified.

    If ``k > N``, the ``k - N`` extra slots repeat the nearest neighbour's
    index and distance (slot 0), so the output always has ``k`` columns.

    CUDA tensors run the Triton kernel when Triton is available and
    ``min(k, N) <= 128`` (see :mod:`tap3d.ops.triton`): the same neighbours
    and distances (up to float rounding: it does not centre the clouds), with
    ties in index order.

    Args:
        query: ``(B, M, 3)`` query points.
        ref: ``(B, N, 3)`` reference points, ``N >= 1``.
        k: number of neighbours, ``>= 1``.
        chunk_size: query rows per chunk; by default chosen to keep about
            ``2**25`` distances in memory.

    Returns:
        ``dist2``: ``(B, M, k)`` ascending squared distances (float32, or
        float64 for float64 inputs), and ``idx``: ``(B, M, k)`` long indices
        into ``N``. Neither carries a gradient.
    """
    check_points('knn', 'query', query)
    check_points('knn', 'ref', ref, batch=query.shape[0])
    if not isinstance(k, int) or k < 1:
        raise ValueError(f'knn: `k` must be a positive int, got {k!r}')
    batch, num_query, _ = query.shape
    num_ref = ref.shape[1]
    if num_ref == 0:
        raise ValueError('knn: `ref` has no points (N == 0), there is no neighbour to return')
    k_eff = min(k, num_ref)
    if _triton.use_triton('knn', query, k=k_eff):
        return _triton.knn(query, ref, k)
    with torch.autocast(device_type=query.device.type, enabled=False):
        q, r = _centred(query.detach(), ref.detach())
        r_sq = (r * r).sum(-1)
        group = _group_size(num_ref, k_eff)
        r_pad, r_sq_pad = r, r_sq
        pad = -num_ref % group
        if pad:
            # Padding points at infinite distance: never among the k smallest.
            r_pad = torch.cat([r, r.new_zeros(batch, pad, 3)], 1)
            r_sq_pad = torch.cat([r_sq, r_sq.new_full((batch, pad), float('inf'))], 1)
        rows = _chunk_rows(batch, num_ref + pad, chunk_size)
        dists, idxs = [], []
        for start in range(0, num_query, rows):
            q_chunk = q[:, start:start + rows]
            partial = _partial_sqdist(q_chunk, r_pad, r_sq_pad)
            idx = _smallest_k(partial, k_eff, group)
            dist2 = _exact_sqdist(q_chunk, r, idx)
            # Rounding in the expansion can swap near-equal neighbours: re-sort exactly.
            dist2, order = dist2.sort(dim=-1, stable=True)
            dists.append(dist2)
            idxs.append(idx.gather(-1, order))
        dist2 = torch.cat(dists, 1) if dists else q.new_zeros(batch, 0, k_eff)
        idx = torch.cat(idxs, 1) if idxs else torch.zeros(
            batch, 0, k_eff, dtype=torch.long, device=query.device)
    if k_eff < k:
        pad = k - k_eff
        dist2 = torch.cat([dist2, dist2[..., :1].expand(-1, -1, pad)], -1)
        idx = torch.cat([idx, idx[..., :1].expand(-1, -1, pad)], -1)
    return dist2, idx


def knn_offset(query: Tensor, query_offset: Tensor, ref: Tensor, ref_offset: Tensor,
               k: int) -> Tuple[Tensor, Tensor]:
    """kNN for offset-form batches: neighbours come only from the same sample.

    Sample ``i`` owns rows ``offset[i-1]:offset[i]`` (``offset[-1] == 0``) of
    both ``query`` and ``ref`` (Pointcept's convention). A sample with fewer
    than ``k`` reference points pads its extra slots with the nearest
    neighbour (index and distance), as :func:`knn` does; a caller that needs
    to tell padding apart can compare ``k`` with the sample's size.

    Args:
        query: ``(ΣM, 3)`` query points.
        query_offset: ``(B,)`` end index of each sample's queries.
        ref: ``(ΣN, 3)`` reference points.
        ref_offset: ``(B,)`` end index of each sample's reference points.
        k: number of neighbours, ``>= 1``.

    Returns:
        ``dist2``: ``(ΣM, k)`` ascending squared distances, and ``idx``:
        ``(ΣM, k)`` long indices into the concatenated ``ref``.
    """
    for arg, x in (('query', query), ('ref', ref)):
        if x.dim() != 2 or x.shape[-1] != 3:
            raise ValueError(f'knn_offset: `{arg}` must have shape (ΣN, 3), got {tuple(x.shape)}')
    check_offset('knn_offset', 'query_offset', query_offset, total=query.shape[0])
    check_offset('knn_offset', 'ref_offset', ref_offset, total=ref.shape[0])
    if query_offset.numel() != ref_offset.numel():
        raise ValueError(f'knn_offset: `query_offset` has {query_offset.numel()} samples, '
                         f'`ref_offset` has {ref_offset.numel()}')
    if not isinstance(k, int) or k < 1:
        raise ValueError(f'knn_offset: `k` must be a positive int, got {k!r}')
    q_ends = query_offset.tolist()
    r_ends = ref_offset.tolist()
    q_start = r_start = 0
    for i, (q_end, r_end) in enumerate(zip(q_ends, r_ends)):
        if q_end > q_start and r_end == r_start:
            raise ValueError(
                f'knn_offset: sample {i} has {q_end - q_start} queries but no reference points')
        q_start, r_start = q_end, r_end
    if _triton.use_triton('knn_offset', query, k=min(k, ref.shape[0])):
        return _triton.knn_offset(query, query_offset, ref, ref_offset, k)
    dists, idxs = [], []
    q_start = r_start = 0
    for q_end, r_end in zip(q_ends, r_ends):
        if q_end > q_start:
            dist2, idx = knn(query[None, q_start:q_end], ref[None, r_start:r_end], k)
            dists.append(dist2[0])
            idxs.append(idx[0] + r_start)
        q_start, r_start = q_end, r_end
    if not dists:
        return (query.new_zeros(0, k, dtype=working_dtype(query)),
                torch.zeros(0, k, dtype=torch.long, device=query.device))
    return torch.cat(dists), torch.cat(idxs)


def ball_query(query: Tensor,
               ref: Tensor,
               radius: float,
               num_samples: int,
               chunk_size: Optional[int] = None) -> Tensor:
    """PointNet++ ball query: the first ``num_samples`` points within ``radius``.

    For each query, the reference points with squared distance
    ``< radius**2`` are taken in index order; if fewer than ``num_samples``
    are found, the remaining slots repeat the first one found.

    Deviation from the CUDA op: for an empty ball (no point within the
    radius) every slot holds the index of the nearest reference point
    (lowest index among ties), instead of 0, so grouping stays local.

    CUDA tensors run the Triton kernel when Triton is available (see
    :mod:`tap3d.ops.triton`): the same semantics, with exact distances, so a
    point within float rounding of the sphere may fall on the other side.

    Args:
        query: ``(B, M, 3)`` ball centres.
        ref: ``(B, N, 3)`` reference points, ``N >= 1``.
        radius: ball radius (> 0).
        num_samples: ``K``, slots per ball.
        chunk_size: query rows per chunk (default: about ``2**25`` distances).

    Returns:
        ``(B, M, K)`` long indices into ``N``.
    """
    check_points('ball_query', 'query', query)
    check_points('ball_query', 'ref', ref, batch=query.shape[0])
    if not radius > 0:
        raise ValueError(f'ball_query: `radius` must be > 0, got {radius!r}')
    if not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f'ball_query: `num_samples` must be a positive int, got {num_samples!r}')
    batch, num_query, _ = query.shape
    num_ref = ref.shape[1]
    if num_ref == 0:
        raise ValueError('ball_query: `ref` has no points (N == 0)')
    if _triton.use_triton('ball_query', query):
        return _triton.ball_query(query, ref, radius, num_samples)
    k_eff = min(num_samples, num_ref)
    out = []
    with torch.autocast(device_type=query.device.type, enabled=False):
        q, r = _centred(query.detach(), ref.detach())
        r_sq = (r * r).sum(-1)
        q_sq = (q * q).sum(-1, keepdim=True)
        arange = torch.arange(num_ref, device=query.device)
        rows = _chunk_rows(batch, num_ref, chunk_size)
        for start in range(0, num_query, rows):
            dist2 = _partial_sqdist(q[:, start:start + rows], r, r_sq)
            dist2 += q_sq[:, start:start + rows]
            inside = dist2 < radius * radius
            # Outside points get index N, so the k smallest indices are the
            # first k inside points in index order, followed by N for missing ones.
            cand = torch.where(inside, arange, num_ref)
            idx = cand.topk(k_eff, dim=-1, largest=False, sorted=True).values
            first = idx[..., :1]
            nearest = dist2.argmin(dim=-1, keepdim=True)
            first = torch.where(first == num_ref, nearest, first)
            out.append(torch.where(idx == num_ref, first, idx))
    idx = torch.cat(out, 1) if out else torch.zeros(
        batch, 0, k_eff, dtype=torch.long, device=query.device)
    if k_eff < num_samples:
        idx = torch.cat([idx, idx[..., :1].expand(-1, -1, num_samples - k_eff)], -1)
    return idx


def three_nn(unknown: Tensor, known: Tensor) -> Tuple[Tensor, Tensor]:
    """The three nearest known points of each unknown point.

    When ``m < 3``, the missing slots hold the nearest point's index with
    ``dist2 = +inf``, so inverse-distance weights give them weight 0 and
    :func:`three_nn_interpolate` averages over the ``m`` real neighbours.

    Args:
        unknown: ``(B, n, 3)`` points to interpolate at.
        known: ``(B, m, 3)`` points carrying features, ``m >= 1``.

    Returns:
        ``dist2``: ``(B, n, 3)`` ascending squared distances and ``idx``:
        ``(B, n, 3)`` long indices into ``m``.
    """
    check_points('three_nn', 'unknown', unknown)
    check_points('three_nn', 'known', known, batch=unknown.shape[0])
    dist2, idx = knn(unknown, known, 3)
    num_known = known.shape[1]
    if num_known < 3:
        dist2 = dist2.clone()
        dist2[..., num_known:] = float('inf')
    return dist2, idx
