"""Point Transformer V2, variant m2 (Wu et al., NeurIPS 2022), on offset batches.

A U-Net of grouped-vector-attention blocks over kNN neighbourhoods, with
partition (grid) pooling between stages and map unpooling back. The layout and
widths follow the reference "PT-v2m2" model so that its ScanNet configuration
has the same parameter count.

Every tensor here is in offset form: ``coord (ΣN, 3)``, ``feat (ΣN, C)`` and
``offset (B,)`` with ``offset[i]`` the end index of sample ``i``.

One deliberate difference from the reference code: padded neighbours (index
``-1``, only present when a sample has fewer points than ``k``) are removed
before the softmax, so the attention weights of every point sum to one. The
reference applies the softmax first and zeroes padded weights afterwards. Both
agree whenever every sample has at least ``k`` points, which is always the
case on real scenes.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule

from tap3d.registry import MODELS

Points = List[torch.Tensor]  # [coord (ΣN, 3), feat (ΣN, C), offset (B,)]


def _ops():
    """The offset-batch point ops (kNN, grid pooling) of :mod:`tap3d.ops`."""
    from tap3d import ops
    return ops


class PointBatchNorm(nn.Module):
    """BatchNorm1d over the channel axis of ``(N, C)`` or ``(N, K, C)`` tensors."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C) or (N, K, C) -> same shape."""
        if x.dim() == 2:
            return self.norm(x)
        if x.dim() == 3:
            # same statistics as BatchNorm over (N, C, K), but on a contiguous
            # (N*K, C) view, which is several times faster than the transposed form
            n, k, c = x.shape
            return self.norm(x.reshape(n * k, c)).view(n, k, c)
        raise ValueError(f'PointBatchNorm expects a 2-D or 3-D tensor, got shape '
                         f'{tuple(x.shape)}')


def _linear_bn_relu(in_channels: int, out_channels: int, bias: bool = True) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_channels, out_channels, bias=bias), PointBatchNorm(out_channels),
        nn.ReLU(inplace=True))


def knn_self(coord: torch.Tensor, offset: torch.Tensor, k: int) -> torch.Tensor:
    """k nearest neighbours of every point among the points of its own sample.

    Args:
        coord: (ΣN, 3) point coordinates.
        offset: (B,) end index of each sample.
        k: number of neighbours.

    Returns:
        (ΣN, k) long global indices into ``coord``; ``-1`` marks a missing
        neighbour (a sample with fewer than ``k`` points).
    """
    ops = _ops()
    _, idx = ops.knn_offset(coord, offset, coord, offset, k)
    # knn_offset repeats the nearest neighbour in the slots a small sample cannot
    # fill; mark those slots as padding so attention does not count them twice
    sizes = torch.diff(offset.long(), prepend=offset.new_zeros(1))
    size = sizes[ops.offset_to_batch(offset)]  # (ΣN,) points in each point's sample
    slot = torch.arange(k, device=coord.device)
    return idx.long().masked_fill(slot[None, :] >= size[:, None], -1)


class GroupedVectorAttention(nn.Module):
    """Grouped vector attention over a fixed kNN neighbourhood (PTv2 Eq. 5-7).

    For point i with neighbours j and ``G`` groups of ``C/G`` channels::

        r_ij = k_j - q_i (+ pe_bias(p_j - p_i)),   q = ReLU(BN(W_q x)), k likewise
        w_ij = softmax_j(ω(r_ij))                  ω: Linear(C,G)-BN-ReLU-Linear(G,G)
        y_i^g = Σ_j w_ij^g (v_j^g + pe_bias(p_j - p_i)^g)

    (with ``pe_multiplier``, ``r_ij`` is first multiplied by an MLP of the
    relative position).

    Args:
        embed_channels: C.
        groups: G, must divide C.
        attn_drop_rate: dropout on the attention weights.
        qkv_bias: bias of the q/k/v projections.
        pe_multiplier: multiplicative position encoding on the relation.
        pe_bias: additive position encoding on relation and values.
    """

    def __init__(self,
                 embed_channels: int,
                 groups: int,
                 attn_drop_rate: float = 0.0,
                 qkv_bias: bool = True,
                 pe_multiplier: bool = False,
                 pe_bias: bool = True):
        super().__init__()
        if embed_channels % groups != 0:
            raise ValueError(f'GroupedVectorAttention: groups={groups} must divide '
                             f'embed_channels={embed_channels}')
        self.embed_channels = embed_channels
        self.groups = groups
        self.pe_multiplier = pe_multiplier
        self.pe_bias = pe_bias
        self.linear_q = _linear_bn_relu(embed_channels, embed_channels, bias=qkv_bias)
        self.linear_k = _linear_bn_relu(embed_channels, embed_channels, bias=qkv_bias)
        self.linear_v = nn.Linear(embed_channels, embed_channels, bias=qkv_bias)
        if pe_multiplier:
            self.linear_p_multiplier = nn.Sequential(
                _linear_bn_relu(3, embed_channels), nn.Linear(embed_channels, embed_channels))
        if pe_bias:
            self.linear_p_bias = nn.Sequential(
                _linear_bn_relu(3, embed_channels), nn.Linear(embed_channels, embed_channels))
        self.weight_encoding = nn.Sequential(
            _linear_bn_relu(embed_channels, groups), nn.Linear(groups, groups))
        self.attn_drop = nn.Dropout(attn_drop_rate)

    def forward(self, feat: torch.Tensor, coord: torch.Tensor,
                ref_idx: torch.Tensor) -> torch.Tensor:
        """feat (N, C), coord (N, 3), ref_idx (N, K) long with -1 padding -> (N, C)."""
        n, k = ref_idx.shape
        valid = ref_idx >= 0  # (N, K)
        safe_idx = ref_idx.clamp(min=0)
        query = self.linear_q(feat)
        key = self.linear_k(feat)[safe_idx]  # (N, K, C)
        value = self.linear_v(feat)[safe_idx]
        pos = coord[safe_idx] - coord.unsqueeze(1)  # (N, K, 3) relative positions
        pad = (~valid).unsqueeze(-1)
        has_pad = not bool(valid.all())
        if has_pad:
            # padded slots hold zeros (as the reference grouping gives), not a copy
            # of point 0, in what the norms below see
            key = key.masked_fill(pad, 0.0)
            value = value.masked_fill(pad, 0.0)
            pos = pos.masked_fill(pad, 0.0)

        relation = key - query.unsqueeze(1)
        if self.pe_multiplier:
            relation = relation * self.linear_p_multiplier(pos)
        if self.pe_bias:
            peb = self.linear_p_bias(pos)
            relation = relation + peb
            value = value + peb

        logits = self.weight_encoding(relation)  # (N, K, G)
        if has_pad:
            logits = logits.masked_fill(pad, float('-inf'))
        weight = torch.softmax(logits, dim=1)
        if has_pad:
            # a point with no valid neighbour at all would give NaN; it gets zeros
            weight = torch.nan_to_num(weight, nan=0.0) * valid.unsqueeze(-1).to(weight.dtype)
        weight = self.attn_drop(weight)

        value = value.view(n, k, self.groups, self.embed_channels // self.groups)
        out = torch.einsum('nkgi,nkg->ngi', value, weight)
        return out.reshape(n, self.embed_channels)


class Block(nn.Module):
    """Residual block: fc1-BN-ReLU, grouped vector attention, BN-ReLU, fc3-BN, drop path."""

    def __init__(self,
                 embed_channels: int,
                 groups: int,
                 qkv_bias: bool = True,
                 pe_multiplier: bool = False,
                 pe_bias: bool = True,
                 attn_drop_rate: float = 0.0,
                 drop_path_rate: float = 0.0,
                 enable_checkpoint: bool = False):
        super().__init__()
        self.attn = GroupedVectorAttention(
            embed_channels, groups, attn_drop_rate=attn_drop_rate, qkv_bias=qkv_bias,
            pe_multiplier=pe_multiplier, pe_bias=pe_bias)
        self.fc1 = nn.Linear(embed_channels, embed_channels, bias=False)
        self.fc3 = nn.Linear(embed_channels, embed_channels, bias=False)
        self.norm1 = PointBatchNorm(embed_channels)
        self.norm2 = PointBatchNorm(embed_channels)
        self.norm3 = PointBatchNorm(embed_channels)
        self.act = nn.ReLU(inplace=True)
        self.enable_checkpoint = enable_checkpoint
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, points: Points, ref_idx: torch.Tensor) -> Points:
        """points [coord (N,3), feat (N,C), offset (B,)], ref_idx (N,K) -> same form."""
        coord, feat, offset = points
        identity = feat
        feat = self.act(self.norm1(self.fc1(feat)))
        if self.enable_checkpoint and feat.requires_grad:
            from torch.utils.checkpoint import checkpoint
            feat = checkpoint(self.attn, feat, coord, ref_idx, use_reentrant=False)
        else:
            feat = self.attn(feat, coord, ref_idx)
        feat = self.act(self.norm2(feat))
        feat = self.norm3(self.fc3(feat))
        feat = self.act(identity + self.drop_path(feat))
        return [coord, feat, offset]


class BlockSequence(nn.Module):
    """``depth`` blocks sharing one kNN neighbourhood computed once per stage."""

    def __init__(self,
                 depth: int,
                 embed_channels: int,
                 groups: int,
                 neighbours: int = 16,
                 qkv_bias: bool = True,
                 pe_multiplier: bool = False,
                 pe_bias: bool = True,
                 attn_drop_rate: float = 0.0,
                 drop_path_rate: Union[float, Sequence[float]] = 0.0,
                 enable_checkpoint: bool = False):
        super().__init__()
        if isinstance(drop_path_rate, (int, float)):
            rates = [float(drop_path_rate)] * depth
        else:
            rates = list(drop_path_rate)
            if len(rates) != depth:
                raise ValueError(f'BlockSequence: {len(rates)} drop-path rates for '
                                 f'depth {depth}')
        self.neighbours = neighbours
        self.blocks = nn.ModuleList([
            Block(embed_channels, groups, qkv_bias=qkv_bias, pe_multiplier=pe_multiplier,
                  pe_bias=pe_bias, attn_drop_rate=attn_drop_rate, drop_path_rate=rates[i],
                  enable_checkpoint=enable_checkpoint) for i in range(depth)
        ])

    def forward(self, points: Points) -> Points:
        """points [coord (N,3), feat (N,C), offset (B,)] -> same form."""
        coord, _, offset = points
        ref_idx = knn_self(coord, offset, self.neighbours)
        for block in self.blocks:
            points = block(points, ref_idx)
        return points


class GridPool(nn.Module):
    """Partition pooling: Linear-BN-ReLU, then one token per occupied voxel per sample.

    Voxels of edge ``grid_size`` start at each sample's minimum corner; a voxel's
    token takes the mean coordinate and the channel-wise max feature of its points.
    """

    def __init__(self, in_channels: int, out_channels: int, grid_size: float,
                 bias: bool = False):
        super().__init__()
        self.grid_size = grid_size
        self.fc = nn.Linear(in_channels, out_channels, bias=bias)
        self.norm = PointBatchNorm(out_channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, points: Points,
                start: Optional[torch.Tensor] = None) -> Tuple[Points, torch.Tensor]:
        """points [coord (N,3), feat (N,Cin), offset (B,)] ->
        ([coord (M,3), feat (M,Cout), offset (B,)], cluster (N,) long in [0, M))."""
        coord, feat, offset = points
        feat = self.act(self.norm(self.fc(feat)))
        p_coord, p_feat, p_offset, cluster = _ops().grid_pool(
            coord, feat, offset, self.grid_size, start=start)
        return [p_coord, p_feat, p_offset], cluster.long()


class UnpoolWithSkip(nn.Module):
    """Map unpooling: copy each voxel's projected feature back to its points, add
    the projected skip feature. ``backend='interp'`` uses 3-NN interpolation
    instead of the cluster map."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int,
                 bias: bool = True, skip: bool = True, backend: str = 'map'):
        super().__init__()
        if backend not in ('map', 'interp'):
            raise ValueError(f"UnpoolWithSkip: backend must be 'map' or 'interp', got "
                             f'{backend!r}')
        self.skip = skip
        self.backend = backend
        self.proj = _linear_bn_relu(in_channels, out_channels, bias=bias)
        self.proj_skip = _linear_bn_relu(skip_channels, out_channels, bias=bias)

    def forward(self, points: Points, skip_points: Points,
                cluster: Optional[torch.Tensor] = None) -> Points:
        """points (M coarse), skip_points (N fine), cluster (N,) -> fine points with
        feat (N, out_channels)."""
        coord, feat, offset = points
        skip_coord, skip_feat, skip_offset = skip_points
        feat = self.proj(feat)
        if self.backend == 'map' and cluster is not None:
            feat = feat[cluster]
        else:
            feat = _interpolate(coord, offset, feat, skip_coord, skip_offset)
        if self.skip:
            feat = feat + self.proj_skip(skip_feat)
        return [skip_coord, feat, skip_offset]


def _interpolate(src_coord, src_offset, src_feat, dst_coord, dst_offset, k: int = 3):
    """Inverse-distance 3-NN interpolation: src (M,3)/(M,C) -> dst (N,C)."""
    dist2, idx = _ops().knn_offset(dst_coord, dst_offset, src_coord, src_offset, k)
    valid = idx >= 0
    weight = (1.0 / (dist2.clamp(min=0).sqrt() + 1e-8)) * valid
    weight = weight / weight.sum(dim=1, keepdim=True).clamp(min=1e-12)
    return (src_feat[idx.clamp(min=0).long()] * weight.unsqueeze(-1)).sum(dim=1)


class Encoder(nn.Module):
    """GridPool down-sampling followed by a BlockSequence."""

    def __init__(self, depth, in_channels, embed_channels, groups, grid_size,
                 neighbours=16, qkv_bias=True, pe_multiplier=False, pe_bias=True,
                 attn_drop_rate=0.0, drop_path_rate=0.0, enable_checkpoint=False):
        super().__init__()
        self.down = GridPool(in_channels, embed_channels, grid_size)
        self.blocks = BlockSequence(depth, embed_channels, groups, neighbours, qkv_bias,
                                    pe_multiplier, pe_bias, attn_drop_rate,
                                    drop_path_rate, enable_checkpoint)

    def forward(self, points: Points) -> Tuple[Points, torch.Tensor]:
        """points (N fine) -> (points (M coarse), cluster (N,))."""
        points, cluster = self.down(points)
        return self.blocks(points), cluster


class Decoder(nn.Module):
    """UnpoolWithSkip up-sampling followed by a BlockSequence."""

    def __init__(self, in_channels, skip_channels, embed_channels, groups, depth,
                 neighbours=16, qkv_bias=True, pe_multiplier=False, pe_bias=True,
                 attn_drop_rate=0.0, drop_path_rate=0.0, enable_checkpoint=False,
                 unpool_backend='map'):
        super().__init__()
        self.up = UnpoolWithSkip(in_channels, skip_channels, embed_channels,
                                 backend=unpool_backend)
        self.blocks = BlockSequence(depth, embed_channels, groups, neighbours, qkv_bias,
                                    pe_multiplier, pe_bias, attn_drop_rate,
                                    drop_path_rate, enable_checkpoint)

    def forward(self, points: Points, skip_points: Points, cluster: torch.Tensor) -> Points:
        """points (M coarse), skip_points (N fine), cluster (N,) -> points (N fine)."""
        return self.blocks(self.up(points, skip_points, cluster))


class GVAPatchEmbed(nn.Module):
    """Per-point Linear-BN-ReLU embedding followed by a BlockSequence (no pooling)."""

    def __init__(self, depth, in_channels, embed_channels, groups, neighbours=16,
                 qkv_bias=True, pe_multiplier=False, pe_bias=True, attn_drop_rate=0.0,
                 drop_path_rate=0.0, enable_checkpoint=False):
        super().__init__()
        self.proj = _linear_bn_relu(in_channels, embed_channels, bias=False)
        self.blocks = BlockSequence(depth, embed_channels, groups, neighbours, qkv_bias,
                                    pe_multiplier, pe_bias, attn_drop_rate,
                                    drop_path_rate, enable_checkpoint)

    def forward(self, points: Points) -> Points:
        """points [coord (N,3), feat (N,Cin), offset] -> feat (N, embed_channels)."""
        coord, feat, offset = points
        return self.blocks([coord, self.proj(feat), offset])


@MODELS.register_module(name=['PointTransformerV2', 'PTv2m2'])
class PointTransformerV2(BaseModule):
    """Point Transformer V2 (m2) backbone on offset batches.

    Args:
        in_channels: input feature channels (9 on ScanNet: xyz, rgb, normal).
        patch_embed_*: the full-resolution embedding stage.
        enc_*, dec_*: per-stage depths, widths, attention groups, kNN sizes.
        grid_sizes: voxel edge of each pooling stage (metres).
        attn_qkv_bias, pe_multiplier, pe_bias, attn_drop_rate: attention options.
        drop_path_rate: stochastic depth, linearly increasing over the blocks of
            the encoder (and, separately, of the decoder).
        enable_checkpoint: activation checkpointing of the attention (saves memory).
        unpool_backend: ``'map'`` (cluster map) or ``'interp'`` (3-NN).
        out: ``'decoder'`` returns per-point features of the full resolution
            (segmentation); ``'encoder'`` returns the deepest encoder level and
            builds no decoder (the scene-level TAP memory).
        init_cfg: mmengine init config, e.g. a ``Pretrained`` checkpoint.

    ``forward(inputs)`` reads ``inputs['coord'] (ΣN, 3)``, ``inputs['feat']
    (ΣN, in_channels)``, ``inputs['offset'] (B,)`` and returns a dict in the
    backbone contract's offset form: ``coords (ΣM, 3)``, ``feats (ΣM,
    out_channels)``, ``offset (B,)``; with ``out='decoder'`` M = N and the rows
    follow the input points.
    """

    def __init__(self,
                 in_channels: int = 9,
                 patch_embed_depth: int = 1,
                 patch_embed_channels: int = 48,
                 patch_embed_groups: int = 6,
                 patch_embed_neighbours: int = 8,
                 enc_depths: Sequence[int] = (2, 2, 6, 2),
                 enc_channels: Sequence[int] = (96, 192, 384, 512),
                 enc_groups: Sequence[int] = (12, 24, 48, 64),
                 enc_neighbours: Sequence[int] = (16, 16, 16, 16),
                 dec_depths: Sequence[int] = (1, 1, 1, 1),
                 dec_channels: Sequence[int] = (48, 96, 192, 384),
                 dec_groups: Sequence[int] = (6, 12, 24, 48),
                 dec_neighbours: Sequence[int] = (16, 16, 16, 16),
                 grid_sizes: Sequence[float] = (0.06, 0.15, 0.375, 0.9375),
                 attn_qkv_bias: bool = True,
                 pe_multiplier: bool = False,
                 pe_bias: bool = True,
                 attn_drop_rate: float = 0.0,
                 drop_path_rate: float = 0.3,
                 enable_checkpoint: bool = False,
                 unpool_backend: str = 'map',
                 out: str = 'decoder',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        num_stages = len(enc_depths)
        for name, seq in (('enc_channels', enc_channels), ('enc_groups', enc_groups),
                          ('enc_neighbours', enc_neighbours), ('grid_sizes', grid_sizes),
                          ('dec_depths', dec_depths), ('dec_channels', dec_channels),
                          ('dec_groups', dec_groups), ('dec_neighbours', dec_neighbours)):
            if len(seq) != num_stages:
                raise ValueError(f'PointTransformerV2: {name} has {len(seq)} entries, '
                                 f'enc_depths has {num_stages}')
        if out not in ('decoder', 'encoder'):
            raise ValueError(f"PointTransformerV2: out must be 'decoder' or 'encoder', "
                             f'got {out!r}')
        self.in_channels = in_channels
        self.num_stages = num_stages
        self.out = out
        self.patch_embed = GVAPatchEmbed(
            patch_embed_depth, in_channels, patch_embed_channels, patch_embed_groups,
            patch_embed_neighbours, attn_qkv_bias, pe_multiplier, pe_bias, attn_drop_rate,
            0.0, enable_checkpoint)

        enc_rates = torch.linspace(0, drop_path_rate, sum(enc_depths)).tolist()
        dec_rates = torch.linspace(0, drop_path_rate, sum(dec_depths)).tolist()
        enc_widths = [patch_embed_channels] + list(enc_channels)
        dec_widths = list(dec_channels) + [enc_widths[-1]]
        self.enc_stages = nn.ModuleList()
        self.dec_stages = nn.ModuleList() if out == 'decoder' else None
        for i in range(num_stages):
            self.enc_stages.append(
                Encoder(enc_depths[i], enc_widths[i], enc_widths[i + 1], enc_groups[i],
                        grid_sizes[i], enc_neighbours[i], attn_qkv_bias, pe_multiplier,
                        pe_bias, attn_drop_rate,
                        enc_rates[sum(enc_depths[:i]):sum(enc_depths[:i + 1])],
                        enable_checkpoint))
            if self.dec_stages is not None:
                self.dec_stages.append(
                    Decoder(dec_widths[i + 1], enc_widths[i], dec_widths[i], dec_groups[i],
                            dec_depths[i], dec_neighbours[i], attn_qkv_bias,
                            pe_multiplier, pe_bias, attn_drop_rate,
                            dec_rates[sum(dec_depths[:i]):sum(dec_depths[:i + 1])],
                            enable_checkpoint, unpool_backend))
        self.out_channels = dec_widths[0] if out == 'decoder' else enc_widths[-1]

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """inputs {coord (ΣN,3), feat (ΣN,Cin), offset (B,)} ->
        {coords (ΣM,3), feats (ΣM,out_channels), offset (B,)}."""
        for key in ('coord', 'feat', 'offset'):
            if key not in inputs:
                raise KeyError(f"PointTransformerV2 needs inputs['{key}'] (offset-form "
                               "batch from PointDataPreprocessor(batch_mode='offset'))")
        coord, feat, offset = inputs['coord'], inputs['feat'], inputs['offset'].long()
        if feat.shape[-1] != self.in_channels:
            raise ValueError(f'PointTransformerV2: feat has {feat.shape[-1]} channels, '
                             f'in_channels={self.in_channels}')
        points = self.patch_embed([coord.float(), feat.float(), offset])
        skips = []  # (points of level i, cluster mapping level i -> level i+1)
        for stage in self.enc_stages:
            coarse, cluster = stage(points)
            skips.append((points, cluster))
            points = coarse
        if self.out == 'decoder':
            for i in reversed(range(self.num_stages)):
                skip_points, cluster = skips[i]
                points = self.dec_stages[i](points, skip_points, cluster)
        coord, feat, offset = points
        return {'coords': coord, 'feats': feat, 'offset': offset}


__all__ = [
    'PointTransformerV2', 'GroupedVectorAttention', 'Block', 'BlockSequence', 'GridPool',
    'UnpoolWithSkip', 'GVAPatchEmbed', 'PointBatchNorm', 'knn_self'
]
