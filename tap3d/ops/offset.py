"""Offset-form batch utilities and grid (voxel) pooling, Pointcept conventions.

An offset-form batch concatenates ``B`` samples: ``coord (ΣN, 3)``,
``feat (ΣN, C)`` and ``offset (B,)`` where ``offset[i]`` is the end index of
sample ``i`` (so sample ``i`` is rows ``offset[i-1]:offset[i]``). This module
converts it to sample ids, to lengths and to zero-padded ``(B, N_max, C)``
batches with a mask, and back.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from ._checks import check_offset

__all__ = [
    'offset_to_lengths', 'offset_to_batch', 'batch_to_offset', 'offset_to_padded',
    'padded_to_offset', 'grid_pool', 'grid_unpool'
]

_BACKENDS = ('auto', 'torch_scatter', 'torch')


def offset_to_lengths(offset: Tensor) -> Tensor:
    """Sample sizes: ``(B,)`` end indices -> ``(B,)`` long lengths."""
    offset = offset.long()
    return torch.diff(offset, prepend=offset.new_zeros(1))


def offset_to_batch(offset: Tensor) -> Tensor:
    """Sample id of every point.

    Args:
        offset: ``(B,)`` end index of each sample.

    Returns:
        ``(ΣN,)`` long tensor, ``batch[j] = i`` for the rows of sample ``i``.
    """
    check_offset('offset_to_batch', 'offset', offset)
    return torch.repeat_interleave(torch.arange(offset.numel(), device=offset.device),
                                   offset_to_lengths(offset))


def offset_to_padded(offset: Tensor, *tensors: Tensor, pad_value: float = 0.0):
    """Scatter offset-form tensors into a padded batch.

    Args:
        offset: ``(B,)`` cumulative end indices.
        *tensors: each ``(ΣM, C_i)``, rows of all samples concatenated.
        pad_value: value written into padded rows.

    Returns:
        tuple: the padded tensors, each ``(B, M_max, C_i)``, followed by the mask
        ``(B, M_max)`` bool, True = valid row.
    """
    lengths = offset_to_lengths(offset)
    if (lengths < 0).any():
        raise ValueError(f'offset must be non-decreasing, got {offset.tolist()}')
    num = lengths.numel()
    total = int(offset[-1]) if num else 0
    for t in tensors:
        if t.shape[0] != total:
            raise ValueError(f'offset ends at {total} but a tensor has {t.shape[0]} rows')
    m_max = int(lengths.max()) if num else 0
    device = offset.device
    batch_idx = torch.repeat_interleave(torch.arange(num, device=device), lengths)
    starts = offset.long() - lengths
    pos = torch.arange(total, device=device) - starts[batch_idx]
    mask = torch.zeros(num, m_max, dtype=torch.bool, device=device)
    mask[batch_idx, pos] = True
    out = []
    for t in tensors:
        padded = t.new_full((num, m_max) + tuple(t.shape[1:]), pad_value)
        padded[batch_idx, pos] = t
        out.append(padded)
    return (*out, mask)


def padded_to_offset(mask: Tensor, *tensors: Tensor):
    """Inverse of :func:`offset_to_padded`.

    Args:
        mask: ``(B, M)`` bool, True = valid row.
        *tensors: each ``(B, M, C_i)``.

    Returns:
        tuple: the tensors in offset form ``(ΣM, C_i)``, then offset ``(B,)`` long.
    """
    offset = mask.long().sum(1).cumsum(0)
    return (*[t[mask] for t in tensors], offset)


def batch_to_offset(batch: Tensor, batch_size: Optional[int] = None) -> Tensor:
    """Offsets from per-point sample ids (the inverse of :func:`offset_to_batch`).

    Args:
        batch: ``(ΣN,)`` non-decreasing sample ids.
        batch_size: ``B``; by default ``batch.max() + 1``. Pass it to keep
            trailing empty samples.

    Returns:
        ``(B,)`` long tensor of end indices.
    """
    if batch.dim() != 1 or batch.is_floating_point():
        raise ValueError(f'batch_to_offset: `batch` must be a 1-D integer tensor, '
                         f'got {tuple(batch.shape)} {batch.dtype}')
    if batch.numel() > 1 and bool((batch[1:] < batch[:-1]).any()):
        raise ValueError('batch_to_offset: `batch` must be sorted (non-decreasing), '
                         'otherwise the samples are not contiguous')
    minlength = 0 if batch_size is None else batch_size
    counts = torch.bincount(batch.long(), minlength=minlength)
    if batch_size is not None and counts.numel() > batch_size:
        raise ValueError(f'batch_to_offset: sample id {counts.numel() - 1} >= '
                         f'batch_size {batch_size}')
    return counts.cumsum(0)


def _load_torch_scatter():
    try:
        import torch_scatter
    except ImportError:
        return None
    return torch_scatter


def grid_pool(coord: Tensor,
              feat: Tensor,
              offset: Tensor,
              grid_size: float,
              start: Optional[Tensor] = None,
              *,
              backend: str = 'auto') -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Pool points that share a voxel of edge ``grid_size`` within one sample.

    Voxel ``floor((coord - start[b]) / grid_size)`` is taken relative to each
    sample's own origin (default: its minimum coordinate), and clusters never
    span two samples. Clusters are numbered by (sample, voxel) in
    lexicographic order, so each sample's clusters are contiguous and
    ``pooled_offset`` describes them. Coordinates are averaged, features
    max-pooled.

    The reductions use ``torch_scatter.segment_csr`` when ``torch_scatter``
    is installed, otherwise ``torch.Tensor.scatter_reduce`` (same results,
    both differentiable); ``backend`` forces one (``'torch_scatter'`` or
    ``'torch'``).

    Args:
        coord: ``(ΣN, 3)`` coordinates.
        feat: ``(ΣN, C)`` features.
        offset: ``(B,)`` end index of each sample.
        grid_size: voxel edge length (> 0).
        start: optional ``(B, 3)`` voxel-grid origin of each sample; every
            point must lie at or above its sample's origin.
        backend: ``'auto'``, ``'torch_scatter'`` or ``'torch'``.

    Returns:
        ``pooled_coord (P, 3)``, ``pooled_feat (P, C)``, ``pooled_offset (B,)``
        and ``cluster (ΣN,)``: the long id in ``[0, P)`` of each point's cluster.
    """
    if coord.dim() != 2 or coord.shape[1] != 3:
        raise ValueError(f'grid_pool: `coord` must have shape (ΣN, 3), got {tuple(coord.shape)}')
    if feat.dim() != 2 or feat.shape[0] != coord.shape[0]:
        raise ValueError(f'grid_pool: `feat` must have shape (ΣN, C) with ΣN = {coord.shape[0]}, '
                         f'got {tuple(feat.shape)}')
    if not grid_size > 0:
        raise ValueError(f'grid_pool: `grid_size` must be > 0, got {grid_size!r}')
    if backend not in _BACKENDS:
        raise ValueError(f'grid_pool: `backend` must be one of {_BACKENDS}, got {backend!r}')
    check_offset('grid_pool', 'offset', offset, total=coord.shape[0])
    num_samples = offset.numel()
    scatter = None
    if backend != 'torch':
        scatter = _load_torch_scatter()
        if scatter is None and backend == 'torch_scatter':
            raise ImportError("grid_pool: backend='torch_scatter' needs the torch-scatter "
                              'package (pip install torch-scatter)')

    batch = offset_to_batch(offset)
    if start is None:
        start = coord.new_zeros(num_samples, 3)
        if coord.shape[0] > 0:
            start = start.scatter_reduce(
                0, batch.unsqueeze(-1).expand(-1, 3), coord.detach(), 'amin', include_self=False)
    elif start.shape != (num_samples, 3):
        raise ValueError(f'grid_pool: `start` must have shape ({num_samples}, 3), '
                         f'got {tuple(start.shape)}')
    voxel = torch.floor((coord.detach() - start[batch]) / grid_size).long()
    if voxel.numel() > 0 and bool((voxel < 0).any()):
        raise ValueError('grid_pool: some points lie below their sample\'s `start`; '
                         'the grid origin must be at or below every point')

    # One int64 key per point, sample id most significant: sorting the keys
    # groups clusters by sample, then by voxel.
    dims = voxel.amax(0) + 1 if voxel.numel() > 0 else voxel.new_ones(3)
    key = ((batch * dims[0] + voxel[:, 0]) * dims[1] + voxel[:, 1]) * dims[2] + voxel[:, 2]
    _, cluster, counts = torch.unique(key, sorted=True, return_inverse=True, return_counts=True)
    num_clusters = counts.numel()

    if scatter is not None:
        order = torch.argsort(cluster, stable=True)
        indptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        pooled_coord = scatter.segment_csr(coord[order], indptr, reduce='mean')
        pooled_feat = scatter.segment_csr(feat[order], indptr, reduce='max')
        cluster_batch = batch[order[indptr[:-1]]]
    else:
        pooled_coord = coord.new_zeros(num_clusters, 3).scatter_reduce(
            0, cluster.unsqueeze(-1).expand(-1, 3), coord, 'mean', include_self=False)
        pooled_feat = feat.new_zeros(num_clusters, feat.shape[1]).scatter_reduce(
            0, cluster.unsqueeze(-1).expand(-1, feat.shape[1]), feat, 'amax',
            include_self=False)
        cluster_batch = batch.new_zeros(num_clusters).scatter_(0, cluster, batch)
    pooled_offset = torch.bincount(cluster_batch, minlength=num_samples).cumsum(0)
    return pooled_coord, pooled_feat, pooled_offset, cluster


def grid_unpool(pooled_feat: Tensor, cluster: Tensor) -> Tensor:
    """Give every point its cluster's pooled feature (inverse of :func:`grid_pool`).

    Args:
        pooled_feat: ``(P, C)`` per-cluster features.
        cluster: ``(ΣN,)`` cluster id of each point, from :func:`grid_pool`.

    Returns:
        ``(ΣN, C)`` with ``out[j] = pooled_feat[cluster[j]]``.
    """
    if cluster.dim() != 1 or cluster.is_floating_point():
        raise ValueError(f'grid_unpool: `cluster` must be a 1-D integer tensor, '
                         f'got {tuple(cluster.shape)} {cluster.dtype}')
    return pooled_feat[cluster]
