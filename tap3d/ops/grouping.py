"""Gathering, grouping and three-NN interpolation of per-point features.

All three are differentiable with respect to the features (``gather``'s
backward scatters the gradient back); indices carry no gradient.
"""
import torch
from torch import Tensor

from .neighbors import three_nn

__all__ = ['gather_points', 'group_points', 'three_interpolate', 'three_nn_interpolate']


def _check_feats(name: str, x: Tensor) -> None:
    if not isinstance(x, Tensor) or x.dim() != 3:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f'{name}: features must have shape (B, N, C), got {shape}')


def _check_index(name: str, x: Tensor, idx: Tensor, dims: int) -> None:
    if idx.dim() != dims or idx.shape[0] != x.shape[0]:
        raise ValueError(f'{name}: `idx` must have {dims} dims and batch size {x.shape[0]}, '
                         f'got {tuple(idx.shape)}')
    if idx.is_floating_point() or idx.dtype == torch.bool:
        raise ValueError(f'{name}: `idx` must be an integer tensor, got {idx.dtype}')


def gather_points(x: Tensor, idx: Tensor) -> Tensor:
    """Pick rows of ``x`` per batch element.

    Args:
        x: ``(B, N, C)`` per-point values.
        idx: ``(B, M)`` integer indices into ``N``.

    Returns:
        ``(B, M, C)`` with ``out[b, i] = x[b, idx[b, i]]``.
    """
    _check_feats('gather_points', x)
    _check_index('gather_points', x, idx, 2)
    return x.gather(1, idx.long().unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def group_points(x: Tensor, idx: Tensor) -> Tensor:
    """Gather a neighbourhood of rows of ``x`` for each centre.

    Args:
        x: ``(B, N, C)`` per-point values.
        idx: ``(B, M, K)`` integer indices into ``N`` (e.g. from :func:`knn`
            or :func:`ball_query`).

    Returns:
        ``(B, M, K, C)`` with ``out[b, i, j] = x[b, idx[b, i, j]]``.
    """
    _check_feats('group_points', x)
    _check_index('group_points', x, idx, 3)
    batch, num_centres, k = idx.shape
    flat = gather_points(x, idx.reshape(batch, num_centres * k))
    return flat.view(batch, num_centres, k, x.shape[-1])


def three_interpolate(known_feats: Tensor, idx: Tensor, weight: Tensor) -> Tensor:
    """Weighted sum of three known features per unknown point.

    Args:
        known_feats: ``(B, m, C)`` features of the known points.
        idx: ``(B, n, 3)`` indices into ``m`` (from :func:`three_nn`).
        weight: ``(B, n, 3)`` weights, usually summing to 1 over the last dim.

    Returns:
        ``(B, n, C)`` with ``out[b, i] = sum_j weight[b, i, j] * known_feats[b, idx[b, i, j]]``.
    """
    _check_feats('three_interpolate', known_feats)
    _check_index('three_interpolate', known_feats, idx, 3)
    if weight.shape != idx.shape:
        raise ValueError(f'three_interpolate: `weight` shape {tuple(weight.shape)} '
                         f'must equal `idx` shape {tuple(idx.shape)}')
    weight = weight.to(known_feats.dtype)
    # Three (B, n, C) gathers accumulated in place: a third of the peak memory
    # of materialising the (B, n, 3, C) group.
    out = gather_points(known_feats, idx[..., 0]) * weight[..., 0:1]
    for j in (1, 2):
        out = out + gather_points(known_feats, idx[..., j]) * weight[..., j:j + 1]
    return out


def three_nn_interpolate(unknown: Tensor, known: Tensor, known_feats: Tensor,
                         eps: float = 1e-8) -> Tensor:
    """PointNet++ feature propagation: inverse-distance weighted three-NN.

    Weights are ``1 / (d + eps)`` normalised over the three neighbours, with
    ``d`` the Euclidean distance (the ``sqrt`` of :func:`three_nn`'s squared
    distance, as the PointNet++ CUDA ops used by PointNet++/PointMLP
    codebases return it). With ``m < 3`` known points the missing neighbours
    get weight 0; with ``m == 1`` every unknown point copies that feature.

    Args:
        unknown: ``(B, n, 3)`` points to interpolate at.
        known: ``(B, m, 3)`` points carrying features, ``m >= 1``.
        known_feats: ``(B, m, C)`` their features.
        eps: added to the distance before inverting.

    Returns:
        ``(B, n, C)`` interpolated features (differentiable in ``known_feats``).
    """
    _check_feats('three_nn_interpolate', known_feats)
    if known_feats.shape[:2] != known.shape[:2]:
        raise ValueError(f'three_nn_interpolate: `known_feats` {tuple(known_feats.shape)} does '
                         f'not match `known` {tuple(known.shape)} in (B, m)')
    dist2, idx = three_nn(unknown, known)
    recip = 1.0 / (dist2.sqrt() + eps)  # inf distance -> weight 0
    weight = recip / recip.sum(-1, keepdim=True)
    return three_interpolate(known_feats, idx, weight)
