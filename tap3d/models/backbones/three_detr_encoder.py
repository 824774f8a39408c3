"""The 3DETR encoder (Misra et al., ICCV 2021): a PointNet++ set-abstraction
pre-encoder followed by a transformer encoder over the sampled points.

Two presets, as in the 3DETR paper and its public code:

- ``encoder_type='masked'`` (3DETR-m): 3 pre-norm layers; before each, a radius
  mask restricts self-attention to nearby points; after layer 0 an interim
  set abstraction halves the points (2048 -> 1024).
- ``encoder_type='vanilla'`` (plain 3DETR): 3 pre-norm layers of global
  self-attention over the 2048 points.

Radius masks. The public code squares the radii (0.4, 0.8, 1.2) and then
compares them with *Euclidean* (not squared) distances, so the effective mask
radii are 0.16, 0.64 and 1.44 m. Its published numbers come from that code, so
``square_masking_radius=True`` (the default) reproduces it; set it to False for
the radii the paper states.

Backbone contract: ``forward(inputs)`` returns ``coords (B, M, 3)`` and
``feats (B, M, C)`` with ``C = out_channels`` (M = 1024 for 3DETR-m on 40k-point
scenes, 2048 for the plain encoder), so the TAP head pre-trains it unchanged.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from tap3d.ops import ball_query, furthest_point_sample, group_points
from tap3d.registry import MODELS

__all__ = ['PointSetAbstraction', 'ThreeDETREncoderLayer', 'ThreeDETREncoder',
           'stack_points']


def stack_points(inputs: Dict[str, Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
    """Fixed-size point batch from either batch form of the preprocessor.

    Args:
        inputs: ``coord (B, N, 3)`` [+ ``feat (B, N, C)``] (stack form) or
            ``coord (ΣN, 3)`` [+ ``feat (ΣN, C)``] + ``offset (B,)`` (offset form;
            every sample must then have the same N, e.g. after PointSample).

    Returns:
        ``xyz (B, N, 3)`` and ``feats (B, N, C)`` or None.
    """
    if 'coord' in inputs and 'offset' not in inputs:
        xyz = inputs['coord']
        feats = inputs.get('feat')
        if xyz.dim() != 3 or xyz.shape[-1] < 3:
            raise ValueError(f'three_detr_encoder: coord must be (B, N, 3), got {tuple(xyz.shape)}')
        if xyz.shape[-1] > 3:
            feats = xyz[..., 3:] if feats is None else feats
            xyz = xyz[..., :3]
        return xyz.contiguous(), feats
    if 'coord' in inputs and 'offset' in inputs:
        coord, offset = inputs['coord'], inputs['offset']
        counts = torch.diff(offset, prepend=offset.new_zeros(1))
        if not bool((counts == counts[0]).all()):
            raise ValueError(
                'three_detr_encoder: 3DETR needs the same number of points in every scene '
                f'of a batch, got {counts.tolist()}; add PointSample to the pipeline')
        b, n = counts.numel(), int(counts[0])
        xyz = coord[:, :3].reshape(b, n, 3).contiguous()
        feat = inputs.get('feat')
        feats = feat.reshape(b, n, -1) if feat is not None else None
        return xyz, feats
    raise KeyError('three_detr_encoder: inputs need "coord" (B, N, 3) (stack form) or "coord" + '
                   f'"offset" (offset form); got keys {sorted(inputs)}')


class PointSetAbstraction(nn.Module):
    """PointNet++ set abstraction as 3DETR uses it (``PointnetSAModuleVotes``):
    FPS centres, ball-query groups, local xyz offsets divided by the radius and
    concatenated before the features, a shared MLP (1x1 conv + BN + ReLU, no
    bias), max-pooling over each group.

    Args:
        num_points: number of FPS centres M.
        radius: ball-query radius.
        num_samples: points per group K.
        in_channels: feature channels C_in besides xyz (0 for xyz only).
        mlp_channels: output widths of the shared MLP.
        normalize_xyz: divide the local offsets by ``radius``.
    """

    def __init__(self, num_points: int, radius: float, num_samples: int,
                 in_channels: int, mlp_channels: Sequence[int],
                 normalize_xyz: bool = True):
        super().__init__()
        self.num_points = num_points
        self.radius = radius
        self.num_samples = num_samples
        self.normalize_xyz = normalize_xyz
        layers = []
        prev = in_channels + 3
        for width in mlp_channels:
            conv = nn.Conv2d(prev, width, 1, bias=False)
            nn.init.kaiming_normal_(conv.weight)
            layers += [conv, nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            prev = width
        self.mlp = nn.Sequential(*layers)
        self.out_channels = prev

    def forward(self, xyz: Tensor, feats: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tensor, Tensor]:
        """
        Args:
            xyz: ``(B, N, 3)``.
            feats: ``(B, N, C_in)`` or None.

        Returns:
            ``new_xyz (B, M, 3)``, ``new_feats (B, M, C_out)``, ``idx (B, M)`` (long,
            indices of the centres in ``xyz``).
        """
        if xyz.shape[1] < self.num_points:
            raise ValueError(f'three_detr_encoder: {xyz.shape[1]} points cannot give '
                             f'{self.num_points} FPS centres')
        idx = furthest_point_sample(xyz, self.num_points).long()
        new_xyz = torch.gather(xyz, 1, idx[..., None].expand(-1, -1, 3))
        group_idx = ball_query(new_xyz, xyz, self.radius, self.num_samples).long()
        grouped_xyz = group_points(xyz, group_idx) - new_xyz.unsqueeze(2)  # (B,M,K,3)
        if self.normalize_xyz:
            grouped_xyz = grouped_xyz / self.radius
        if feats is not None:
            grouped = torch.cat([grouped_xyz, group_points(feats, group_idx)], dim=-1)
        else:
            grouped = grouped_xyz
        out = self.mlp(grouped.permute(0, 3, 1, 2).contiguous())  # (B, C, M, K)
        out = out.max(dim=-1)[0].transpose(1, 2).contiguous()
        return new_xyz, out, idx


class ThreeDETREncoderLayer(nn.Module):
    """Transformer encoder layer of 3DETR: pre-norm self-attention + FFN.

    ``x += Drop(MHA(LN x))``; ``x += Drop(W2 Drop(act(W1 LN x)))``.
    """

    def __init__(self, embed_dims: int = 256, num_heads: int = 4, ffn_dims: int = 128,
                 dropout: float = 0.1, activation: str = 'relu'):
        super().__init__()
        self.num_heads = num_heads
        self.self_attn = nn.MultiheadAttention(embed_dims, num_heads, dropout=dropout,
                                               batch_first=True)
        self.linear1 = nn.Linear(embed_dims, ffn_dims)
        self.linear2 = nn.Linear(ffn_dims, embed_dims)
        self.norm1 = nn.LayerNorm(embed_dims)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        acts = {'relu': nn.ReLU, 'gelu': nn.GELU}
        if activation not in acts:
            raise ValueError(f'three_detr_encoder: unknown activation {activation!r}')
        self.activation = acts[activation]()

    def forward(self, x: Tensor, attn_mask: Optional[Tensor] = None) -> Tensor:
        """
        Args:
            x: ``(B, M, C)`` tokens.
            attn_mask: ``(B * num_heads, M, M)`` bool, True = may NOT attend.

        Returns:
            ``(B, M, C)``.
        """
        h = self.norm1(x)
        h = self.self_attn(h, h, h, attn_mask=attn_mask, need_weights=False)[0]
        x = x + self.dropout1(h)
        h = self.linear2(self.dropout(self.activation(self.linear1(self.norm2(x)))))
        return x + self.dropout2(h)


@MODELS.register_module()
class ThreeDETREncoder(BaseModule):
    """3DETR pre-encoder + transformer encoder (the part TAP pre-trains).

    Args:
        in_channels: input feature channels besides xyz (0: xyz only, as 3DETR
            on ScanNet; 3 with colours).
        encoder_type: ``'masked'`` (3DETR-m) or ``'vanilla'`` (plain 3DETR).
        num_points: FPS centres of the pre-encoder (2048 for scenes; fewer, e.g.
            512, for 1024-point objects).
        radius: pre-encoder ball radius (0.2 m for scenes; scale it for
            unit-sphere objects).
        num_samples: pre-encoder group size.
        preenc_mlp: pre-encoder MLP widths; the last one must equal embed_dims.
        num_layers, embed_dims, num_heads, ffn_dims, dropout, activation: the
            transformer layers (3, 256, 4, 128, 0.1, relu).
        masking_radius: one radius per layer for the masked encoder.
        square_masking_radius: reproduce the public code's squared radii
            (see the module docstring).
        interim_num_points: points after the interim set abstraction
            (default ``num_points // 2``).
        interim_radius, interim_num_samples, interim_mlp: interim set abstraction
            (0.4, 32, [256, 256, 256] in 3DETR-m).
    """

    def __init__(self,
                 in_channels: int = 0,
                 encoder_type: str = 'masked',
                 num_points: int = 2048,
                 radius: float = 0.2,
                 num_samples: int = 64,
                 preenc_mlp: Sequence[int] = (64, 128, 256),
                 num_layers: int = 3,
                 embed_dims: int = 256,
                 num_heads: int = 4,
                 ffn_dims: int = 128,
                 dropout: float = 0.1,
                 activation: str = 'relu',
                 masking_radius: Sequence[float] = (0.4, 0.8, 1.2),
                 square_masking_radius: bool = True,
                 interim_num_points: Optional[int] = None,
                 interim_radius: float = 0.4,
                 interim_num_samples: int = 32,
                 interim_mlp: Sequence[int] = (256, 256, 256),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if encoder_type not in ('masked', 'vanilla'):
            raise ValueError(f"three_detr_encoder: encoder_type must be 'masked' or 'vanilla', "
                             f'got {encoder_type!r}')
        if preenc_mlp[-1] != embed_dims:
            raise ValueError(f'three_detr_encoder: preenc_mlp must end in embed_dims={embed_dims}, '
                             f'got {list(preenc_mlp)}')
        self.in_channels = in_channels
        self.encoder_type = encoder_type
        self.out_channels = embed_dims
        self.pre_encoder = PointSetAbstraction(num_points, radius, num_samples, in_channels,
                                               preenc_mlp)
        self.layers = nn.ModuleList([
            ThreeDETREncoderLayer(embed_dims, num_heads, ffn_dims, dropout, activation)
            for _ in range(num_layers)
        ])
        # The reference initialises every matrix of the transformer layers with
        # Xavier-uniform (the set-abstraction convs keep Kaiming-normal).
        for p in self.layers.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        self.interim = None
        self.masking_radius = None
        if encoder_type == 'masked':
            if len(masking_radius) != num_layers:
                raise ValueError('three_detr_encoder: masking_radius needs one value per layer, '
                                 f'got {len(masking_radius)} for {num_layers} layers')
            self.masking_radius = [r * r if square_masking_radius else r
                                   for r in masking_radius]
            if interim_mlp[-1] != embed_dims:
                raise ValueError('three_detr_encoder: interim_mlp must end in embed_dims')
            self.interim = PointSetAbstraction(
                interim_num_points or num_points // 2, interim_radius, interim_num_samples,
                embed_dims, interim_mlp)

    def _radius_mask(self, xyz: Tensor, radius: float, dist: Optional[Tensor]
                     ) -> Tuple[Tensor, Tensor]:
        # Distances are reused while the point set is unchanged (layers 1 and 2).
        if dist is None or dist.shape[1] != xyz.shape[1]:
            dist = torch.cdist(xyz, xyz)
        mask = dist >= radius  # True = outside the radius = not attended
        b, m, _ = mask.shape
        heads = self.layers[0].num_heads
        mask = mask[:, None].expand(b, heads, m, m).reshape(b * heads, m, m)
        return mask, dist

    def forward(self, inputs: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """
        Args:
            inputs: the preprocessor's batch; see :func:`stack_points`.

        Returns:
            dict with ``coords (B, M, 3)``, ``feats (B, M, C)`` and ``indices (B, M)``
            (long, positions of the tokens in the input points).
        """
        xyz, feats = stack_points(inputs)
        if self.in_channels == 0:
            feats = None
        elif feats is None or feats.shape[-1] != self.in_channels:
            got = None if feats is None else feats.shape[-1]
            raise ValueError(f'three_detr_encoder: expected {self.in_channels} feature channels, '
                             f'got {got}')
        xyz, x, idx = self.pre_encoder(xyz, feats)
        dist = None
        for i, layer in enumerate(self.layers):
            mask = None
            if self.masking_radius is not None and self.masking_radius[i] > 0:
                with torch.no_grad():
                    mask, dist = self._radius_mask(xyz, self.masking_radius[i], dist)
            x = layer(x, attn_mask=mask)
            if i == 0 and self.interim is not None:
                xyz, x, sub = self.interim(xyz, x)
                idx = torch.gather(idx, 1, sub)
        return dict(coords=xyz, feats=x, indices=idx)
