"""PointMLP as its authors wrote it: the reference variant for speed comparisons.

A straight port of the computation in ma-xu/pointMLP-pytorch (the version TAP
uses): channels-first tensors (B, C, N), every shared MLP a ``Conv1d(k=1)``,
grouping by the python FPS loop and ``square_distance`` + ``topk`` kNN, the
grouped tensor normalised and concatenated with the anchor at full size
(B, S, k, 2C), and pre-extraction run as convolutions over (B*S, 2C, k).

It has the same parameters as :class:`~tap3d.models.backbones.PointMLP`
(12,570,624 for ``in_channels=4``) and the same state-dict keys; only the
weights of the 1x1 convs carry a trailing kernel dimension, which
``PointMLP`` accepts. FPS starts at index 0 (the authors' loop starts at a
random index), so both models pick the same centres and compute the same
function: ``tests/test_analysis/test_reference_equivalence.py`` checks this.
Use it to measure speed-ups, not for training.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from tap3d.models.backbones.pointmlp import resolve_arch
from tap3d.ops import naive_furthest_point_sample
from tap3d.registry import MODELS


def _act(name):
    if name == 'relu':
        return nn.ReLU(inplace=True)
    if name == 'gelu':
        return nn.GELU()
    raise ValueError(f"PointMLPReference: unknown activation {name!r} (use 'relu' or 'gelu')")


def index_points(points, idx):
    """points (B, N, C), idx (B, S) or (B, S, k) long -> (B, S, C) or (B, S, k, C)."""
    B = points.shape[0]
    batch = torch.arange(B, device=points.device).view(B, *([1] * (idx.dim() - 1)))
    return points[batch.expand_as(idx), idx, :]


def square_distance(src, dst):
    """Pairwise squared distances, src (B, N, 3), dst (B, M, 3) -> (B, N, M)."""
    dist = -2 * torch.matmul(src, dst.permute(0, 2, 1))
    dist += torch.sum(src**2, -1).unsqueeze(-1)
    dist += torch.sum(dst**2, -1).unsqueeze(1)
    return dist


def knn_point(k, xyz, new_xyz):
    """Indices (B, S, k) of the k nearest of xyz (B, N, 3) to new_xyz (B, S, 3), unsorted."""
    return torch.topk(square_distance(new_xyz, xyz), k, dim=-1, largest=False, sorted=False)[1]


class RefConvBNReLU1D(nn.Module):
    """Conv1d(k=1) -> BN -> act on (B, C_in, L) -> (B, C_out, L)."""

    def __init__(self, in_channels, out_channels, bias=False, activation='relu'):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, 1, bias=bias), nn.BatchNorm1d(out_channels),
            _act(activation))

    def forward(self, x):
        return self.net(x)


class RefConvBNReLURes1D(nn.Module):
    """Residual conv block on (B, C, L) -> (B, C, L)."""

    def __init__(self, channels, res_expansion=1.0, bias=False, activation='relu'):
        super().__init__()
        mid = int(channels * res_expansion)
        self.net1 = nn.Sequential(
            nn.Conv1d(channels, mid, 1, bias=bias), nn.BatchNorm1d(mid), _act(activation))
        self.net2 = nn.Sequential(nn.Conv1d(mid, channels, 1, bias=bias), nn.BatchNorm1d(channels))
        self.act = _act(activation)

    def forward(self, x):
        return self.act(self.net2(self.net1(x)) + x)


class RefLocalGrouper(nn.Module):
    """FPS + kNN + anchor normalisation, materialising (B, S, k, 2C)."""

    def __init__(self, channels, reducer, k, use_xyz=False, normalize='anchor'):
        super().__init__()
        self.reducer = reducer
        self.k = k
        self.use_xyz = use_xyz
        self.normalize = normalize
        if normalize is not None:
            extra = 3 if use_xyz else 0
            self.affine_alpha = nn.Parameter(torch.ones(1, 1, 1, channels + extra))
            self.affine_beta = nn.Parameter(torch.zeros(1, 1, 1, channels + extra))

    def forward(self, xyz, points):
        """xyz (B, N, 3), points (B, N, C) -> (B, S, 3), (B, S, k, 2C[+3])."""
        B, N, _ = xyz.shape
        S = N // self.reducer
        fps_idx = naive_furthest_point_sample(xyz, S)
        new_xyz = index_points(xyz, fps_idx)
        new_points = index_points(points, fps_idx)
        idx = knn_point(self.k, xyz, new_xyz)
        grouped_xyz = index_points(xyz, idx)
        grouped_points = index_points(points, idx)
        if self.use_xyz:
            grouped_points = torch.cat([grouped_points, grouped_xyz], dim=-1)
        if self.normalize is not None:
            if self.normalize == 'center':
                mean = torch.mean(grouped_points, dim=2, keepdim=True)
            else:
                mean = torch.cat([new_points, new_xyz], -1) if self.use_xyz else new_points
                mean = mean.unsqueeze(-2)
            std = torch.std((grouped_points - mean).reshape(B, -1), dim=-1, keepdim=True)
            std = std.unsqueeze(-1).unsqueeze(-1)
            grouped_points = (grouped_points - mean) / (std + 1e-5)
            grouped_points = self.affine_alpha * grouped_points + self.affine_beta
        new_points = torch.cat(
            [grouped_points, new_points.view(B, S, 1, -1).repeat(1, 1, self.k, 1)], dim=-1)
        return new_xyz, new_points


class RefPreExtraction(nn.Module):
    """(B, S, k, D) -> conv over (B*S, D, k) -> max over k -> (B, C_out, S)."""

    def __init__(self, channels, out_channels, blocks=1, res_expansion=1.0, bias=False,
                 activation='relu', use_xyz=False):
        super().__init__()
        in_channels = 3 + 2 * channels if use_xyz else 2 * channels
        self.transfer = RefConvBNReLU1D(in_channels, out_channels, bias, activation)
        self.operation = nn.Sequential(*[
            RefConvBNReLURes1D(out_channels, res_expansion, bias, activation)
            for _ in range(blocks)
        ])

    def forward(self, x):
        b, n, s, d = x.size()
        x = x.permute(0, 1, 3, 2).reshape(-1, d, s)
        x = self.operation(self.transfer(x))
        x = F.adaptive_max_pool1d(x, 1).view(b * n, -1)
        return x.reshape(b, n, -1).permute(0, 2, 1)


class RefPosExtraction(nn.Module):
    """(B, C, S) -> (B, C, S) residual conv blocks."""

    def __init__(self, channels, blocks=1, res_expansion=1.0, bias=False, activation='relu'):
        super().__init__()
        self.operation = nn.Sequential(*[
            RefConvBNReLURes1D(channels, res_expansion, bias, activation) for _ in range(blocks)
        ])

    def forward(self, x):
        return self.operation(x)


@MODELS.register_module()
class PointMLPReference(BaseModule):
    """The straight port of PointMLP, with tap3d's backbone contract on the outside.

    Takes the same arguments as :class:`~tap3d.models.backbones.PointMLP` (except
    ``return_stages``) and returns the same ``coords``, ``feats``, ``global_feat``.
    """

    def __init__(self, in_channels=4, arch='pointmlp', embed_dim=None, res_expansion=None,
                 dim_expansion=None, pre_blocks=None, pos_blocks=None, k_neighbors=None,
                 reducers=None, bias=False, use_xyz=False, normalize='anchor',
                 activation='relu', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        cfg = resolve_arch(arch, 'PointMLPReference', embed_dim=embed_dim,
                           res_expansion=res_expansion, dim_expansion=dim_expansion,
                           pre_blocks=pre_blocks, pos_blocks=pos_blocks,
                           k_neighbors=k_neighbors, reducers=reducers)
        self.in_channels = in_channels
        self.embedding = RefConvBNReLU1D(in_channels, cfg['embed_dim'], bias, activation)
        self.local_grouper_list = nn.ModuleList()
        self.pre_blocks_list = nn.ModuleList()
        self.pos_blocks_list = nn.ModuleList()
        last = cfg['embed_dim']
        for i in range(len(cfg['pre_blocks'])):
            out = last * cfg['dim_expansion'][i]
            self.local_grouper_list.append(
                RefLocalGrouper(last, cfg['reducers'][i], cfg['k_neighbors'][i], use_xyz,
                                normalize))
            self.pre_blocks_list.append(
                RefPreExtraction(last, out, cfg['pre_blocks'][i], cfg['res_expansion'], bias,
                                 activation, use_xyz))
            self.pos_blocks_list.append(
                RefPosExtraction(out, cfg['pos_blocks'][i], cfg['res_expansion'], bias,
                                 activation))
            last = out
        self.out_channels = last
        self.global_channels = last

    def forward(self, inputs):
        """inputs ``points`` (B, N, 3), ``feats`` (B, N, C_in) -> dict ``coords``
        (B, M, 3), ``feats`` (B, M, C), ``global_feat`` (B, C)."""
        if 'coord' not in inputs:
            raise KeyError(f"PointMLPReference needs inputs['coord'] (B, N, 3); got keys "
                           f'{list(inputs)}')
        xyz = inputs['coord']
        x = inputs.get('feat', xyz).permute(0, 2, 1)  # (B, C_in, N)
        if x.shape[1] != self.in_channels:
            raise ValueError(f'PointMLPReference was built with in_channels={self.in_channels} '
                             f'but inputs have {x.shape[1]} feature channels')
        x = self.embedding(x)
        for grouper, pre, pos in zip(self.local_grouper_list, self.pre_blocks_list,
                                     self.pos_blocks_list):
            xyz, grouped = grouper(xyz, x.permute(0, 2, 1))
            x = pos(pre(grouped))
        feats = x.permute(0, 2, 1)
        return dict(coords=xyz, feats=feats, global_feat=feats.max(dim=1)[0])
