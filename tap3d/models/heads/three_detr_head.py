"""3DETR decoder and box heads (Misra et al., ICCV 2021).

The head maps encoder tokens to box predictions:

1. project the encoder features (1x1 conv + BN + ReLU stack),
2. sample ``num_queries`` query points from the encoder points by FPS and embed
   them with random Fourier features of their coordinates, normalised by the
   scene's bounds, followed by a 2-layer MLP,
3. run an 8-layer pre-norm transformer decoder (queries start at zero; the query
   embedding and the encoder points' Fourier embedding are added to queries and
   keys in every layer),
4. after every decoder layer, shared MLP heads predict the class logits
   (num_classes + 1, the last is "no object"), a centre offset in
   ``[-0.5, 0.5]`` m around the query point and a size normalised by the scene
   extent (sigmoid).

Angle heads: ScanNet boxes are axis-aligned, so the heads for angle class and
residual are off by default (``with_angle_head=False``). The public 3DETR code
builds them anyway, with ``num_angle_bins=1`` on ScanNet (12 on SUN RGB-D), and
its outputs are multiplied by zero. ``with_angle_head=True`` rebuilds them for a
like-for-like parameter count with the authors' model.
"""
import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from tap3d.geometry.boxes import box3d_to_minmax, class_aware_nms_3d
from tap3d.ops import furthest_point_sample
from tap3d.registry import MODELS

__all__ = ['FourierPositionEmbedding3D', 'ThreeDETRDecoderLayer', 'ThreeDETRHead',
           'conv_mlp']


def conv_mlp(in_dims: int, hidden_dims: Sequence[int], out_dims: int, norm: bool = True,
             hidden_bias: bool = False, out_bias: bool = True, out_norm_act: bool = False,
             dropout: Optional[float] = None) -> nn.Sequential:
    """1x1-conv MLP on ``(B, C, N)`` tensors, the layout of 3DETR's GenericMLP.

    Hidden layers: conv (bias if ``hidden_bias``) [+ BN1d] + ReLU [+ Dropout]; the
    output conv is optionally followed by BN + ReLU (``out_norm_act``).
    """
    layers = []
    prev = in_dims
    for width in hidden_dims:
        layers.append(nn.Conv1d(prev, width, 1, bias=hidden_bias))
        if norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(nn.ReLU())
        if dropout is not None:
            layers.append(nn.Dropout(dropout))
        prev = width
    layers.append(nn.Conv1d(prev, out_dims, 1, bias=out_bias))
    if out_norm_act:
        layers += [nn.BatchNorm1d(out_dims), nn.ReLU()]
    return nn.Sequential(*layers)


def normalize_to_bounds(xyz: Tensor, dims_min: Tensor, dims_max: Tensor) -> Tensor:
    """Map coordinates into [0, 1] per scene: ``(xyz - min) / (max - min)``.

    xyz ``(B, N, 3)``, dims_min/max ``(B, 3)`` -> ``(B, N, 3)``.
    """
    return (xyz - dims_min[:, None]) / (dims_max - dims_min)[:, None]


class FourierPositionEmbedding3D(nn.Module):
    """Random Fourier features of 3D coordinates (3DETR's
    ``PositionEmbeddingCoordsSine`` with ``pos_type='fourier'``).

    ``emb = [sin(2π x̂ B), cos(2π x̂ B)]`` with ``x̂`` the coordinates normalised
    to [0, 1] by the scene bounds and ``B ~ N(0, gauss_scale²)`` of shape
    ``(3, d_pos/2)``, a fixed buffer (saved in checkpoints).
    """

    def __init__(self, d_pos: int = 256, d_in: int = 3, gauss_scale: float = 1.0):
        super().__init__()
        if d_pos % 2:
            raise ValueError(f'three_detr_head: d_pos must be even, got {d_pos}')
        self.register_buffer('gauss_B', torch.randn(d_in, d_pos // 2) * gauss_scale)

    @torch.no_grad()
    def forward(self, xyz: Tensor, dims_min: Tensor, dims_max: Tensor) -> Tensor:
        """xyz ``(B, N, 3)``, dims ``(B, 3)`` -> ``(B, N, d_pos)``."""
        proj = normalize_to_bounds(xyz, dims_min, dims_max) * (2 * math.pi) @ self.gauss_B
        return torch.cat([proj.sin(), proj.cos()], dim=-1)


class ThreeDETRDecoderLayer(nn.Module):
    """Pre-norm decoder layer: self-attention, cross-attention, FFN.

    Positional embeddings are added to queries and keys (not values).
    """

    def __init__(self, embed_dims: int = 256, num_heads: int = 4, ffn_dims: int = 256,
                 dropout: float = 0.1):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(embed_dims, num_heads, dropout=dropout,
                                               batch_first=True)
        self.cross_attn = nn.MultiheadAttention(embed_dims, num_heads, dropout=dropout,
                                                batch_first=True)
        self.norm1 = nn.LayerNorm(embed_dims)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.norm3 = nn.LayerNorm(embed_dims)
        self.linear1 = nn.Linear(embed_dims, ffn_dims)
        self.linear2 = nn.Linear(ffn_dims, embed_dims)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def forward(self, tgt: Tensor, memory: Tensor, query_pos: Tensor, pos: Tensor) -> Tensor:
        """tgt ``(B, Q, C)``, memory ``(B, M, C)``, query_pos ``(B, Q, C)``,
        pos ``(B, M, C)`` -> ``(B, Q, C)``."""
        h = self.norm1(tgt)
        q = h + query_pos
        tgt = tgt + self.dropout1(self.self_attn(q, q, h, need_weights=False)[0])
        h = self.norm2(tgt)
        h = self.cross_attn(h + query_pos, memory + pos, memory, need_weights=False)[0]
        tgt = tgt + self.dropout2(h)
        h = self.linear2(self.dropout(F.relu(self.linear1(self.norm3(tgt)))))
        return tgt + self.dropout3(h)


@MODELS.register_module()
class ThreeDETRHead(BaseModule):
    """3DETR decoder + box heads, with the set loss and the box post-processing.

    Args:
        num_classes: semantic classes (18 on ScanNet); one more logit is "no object".
        in_channels: encoder width.
        embed_dims: decoder width.
        num_queries: FPS-sampled query points (256).
        num_layers, num_heads, ffn_dims, dropout: decoder (8, 4, 256, 0.1).
        mlp_dropout: dropout inside the box heads (0.3).
        proj_hidden_layers: hidden layers of the encoder-to-decoder projection:
            1 for 3DETR-m, 2 for the plain encoder (as in the public code).
        gauss_scale: Fourier-feature scale (1.0).
        with_angle_head, num_angle_bins: see the module docstring.
        loss: the set criterion config (``SetCriterion3D``).
        test_cfg: post-processing: ``nms_iou`` (0.25), ``score_thr`` on the
            objectness (0.05), ``remove_empty_box`` (drop boxes with fewer than
            ``empty_box_points`` (5) input points inside), ``per_class_proposal``
            (each kept box is reported once per class with score
            p(class) * objectness, as in the VoteNet/3DETR evaluation).
    """

    def __init__(self,
                 num_classes: int = 18,
                 in_channels: int = 256,
                 embed_dims: int = 256,
                 num_queries: int = 256,
                 num_layers: int = 8,
                 num_heads: int = 4,
                 ffn_dims: int = 256,
                 dropout: float = 0.1,
                 mlp_dropout: float = 0.3,
                 proj_hidden_layers: int = 1,
                 gauss_scale: float = 1.0,
                 with_angle_head: bool = False,
                 num_angle_bins: int = 1,
                 loss: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.num_queries = num_queries
        self.with_angle_head = with_angle_head
        self.enc_proj = conv_mlp(in_channels, [in_channels] * proj_hidden_layers, embed_dims,
                                 out_bias=False, out_norm_act=True)
        self.pos_embed = FourierPositionEmbedding3D(embed_dims, 3, gauss_scale)
        self.query_proj = conv_mlp(embed_dims, [embed_dims], embed_dims, norm=False,
                                   hidden_bias=True, out_norm_act=False)
        # The reference query projection ends in a ReLU without BN.
        self.query_proj.append(nn.ReLU())
        self.layers = nn.ModuleList([
            ThreeDETRDecoderLayer(embed_dims, num_heads, ffn_dims, dropout)
            for _ in range(num_layers)
        ])
        self.norm = nn.LayerNorm(embed_dims)
        for p in list(self.layers.parameters()) + list(self.norm.parameters()):
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

        def box_mlp(out):
            return conv_mlp(embed_dims, [embed_dims, embed_dims], out, dropout=mlp_dropout)

        heads = dict(cls_head=box_mlp(num_classes + 1), center_head=box_mlp(3),
                     size_head=box_mlp(3))
        if with_angle_head:
            heads.update(angle_cls_head=box_mlp(num_angle_bins),
                         angle_reg_head=box_mlp(num_angle_bins))
        self.box_heads = nn.ModuleDict(heads)
        self.loss_module = MODELS.build(loss) if loss is not None else None
        self.test_cfg = dict(nms_iou=0.25, score_thr=0.05, remove_empty_box=True,
                             empty_box_points=5, per_class_proposal=True)
        self.test_cfg.update(test_cfg or {})

    def forward(self, enc_xyz: Tensor, enc_feats: Tensor, dims_min: Tensor,
                dims_max: Tensor) -> List[Dict[str, Tensor]]:
        """Box predictions after every decoder layer.

        Args:
            enc_xyz: ``(B, M, 3)`` encoder points; enc_feats: ``(B, M, C)``.
            dims_min, dims_max: ``(B, 3)`` scene bounds (of the input points).

        Returns:
            One dict per decoder layer (the last is the final output) with
            ``cls_logits (B, Q, K+1)``, ``center (B, Q, 3)`` (metres),
            ``center_normalized (B, Q, 3)`` (in the scene bounds' [0, 1]),
            ``size_normalized (B, Q, 3)``, ``size (B, Q, 3)`` (metres),
            ``bboxes (B, Q, 6)`` = centre + size, ``query_xyz (B, Q, 3)``
            (and ``angle_logits``/``angle_residual`` when the angle head is on).
        """
        memory = self.enc_proj(enc_feats.transpose(1, 2)).transpose(1, 2)
        nq = min(self.num_queries, enc_xyz.shape[1])
        q_idx = furthest_point_sample(enc_xyz.contiguous(), nq).long()
        query_xyz = torch.gather(enc_xyz, 1, q_idx[..., None].expand(-1, -1, 3))
        query_pos = self.pos_embed(query_xyz, dims_min, dims_max)
        query_pos = self.query_proj(query_pos.transpose(1, 2)).transpose(1, 2)
        pos = self.pos_embed(enc_xyz, dims_min, dims_max)

        tgt = torch.zeros_like(query_pos)
        feats = []
        for layer in self.layers:
            tgt = layer(tgt, memory, query_pos, pos)
            feats.append(self.norm(tgt))
        b, q = query_xyz.shape[:2]
        # All layers go through the (shared) heads in one batch.
        x = torch.stack(feats).flatten(0, 1).transpose(1, 2)  # (L*B, C, Q)

        def run(name):
            return self.box_heads[name](x).transpose(1, 2).reshape(len(feats), b, q, -1)

        cls_logits = run('cls_head')
        center_offset = run('center_head').sigmoid() - 0.5
        size_norm = run('size_head').sigmoid()
        scene_scale = (dims_max - dims_min).clamp(min=0.1)[:, None]  # (B, 1, 3)
        outs = []
        for i in range(len(feats)):
            center = query_xyz + center_offset[i]
            size = size_norm[i] * scene_scale
            out = dict(cls_logits=cls_logits[i], center=center,
                       center_normalized=normalize_to_bounds(center, dims_min, dims_max),
                       size_normalized=size_norm[i], size=size,
                       bboxes=torch.cat([center, size], dim=-1), query_xyz=query_xyz)
            outs.append(out)
        if self.with_angle_head:
            angle_logits = run('angle_cls_head')
            angle_res = run('angle_reg_head')
            for i, out in enumerate(outs):
                out['angle_logits'] = angle_logits[i]
                out['angle_residual_normalized'] = angle_res[i]
        return outs

    def loss(self, outs: List[Dict[str, Tensor]], gt_bboxes: List[Tensor],
             gt_labels: List[Tensor], dims_min: Tensor, dims_max: Tensor) -> Dict[str, Tensor]:
        """Set loss after every decoder layer.

        Args:
            outs: :meth:`forward` output.
            gt_bboxes: B tensors ``(K_b, 6)``; gt_labels: B tensors ``(K_b,)``.
            dims_min, dims_max: ``(B, 3)``.

        Returns:
            ``loss_*`` for the last layer and ``d{i}.loss_*`` for layer i < L-1.
        """
        if self.loss_module is None:
            raise RuntimeError('three_detr_head: no loss configured (head.loss is None)')
        losses = {}
        # One normaliser (a cross-worker reduction) for all decoder layers.
        num_boxes = self.loss_module.num_boxes(gt_labels, dims_min.device)
        for i, out in enumerate(outs):
            layer_losses = self.loss_module(out, gt_bboxes, gt_labels, dims_min, dims_max,
                                            num_boxes=num_boxes)
            prefix = '' if i == len(outs) - 1 else f'd{i}.'
            losses.update({prefix + k: v for k, v in layer_losses.items()})
        return losses

    @torch.no_grad()
    def predict(self, outs: List[Dict[str, Tensor]], points: Tensor) -> List[Dict[str, Tensor]]:
        """Boxes of the last layer after empty-box removal and class-aware 3D NMS.

        Args:
            outs: :meth:`forward` output.
            points: ``(B, N, 3)`` input points (for the empty-box test).

        Returns:
            B dicts with ``bboxes_3d (K, 6)``, ``scores_3d (K,)``, ``labels_3d (K,)``.
        """
        cfg = self.test_cfg
        out = outs[-1]
        prob = out['cls_logits'].softmax(-1)
        sem_prob, obj_prob = prob[..., :-1], 1 - prob[..., -1]
        results = []
        for b in range(prob.shape[0]):
            boxes, obj, sem = out['bboxes'][b], obj_prob[b], sem_prob[b]
            keep = torch.ones_like(obj, dtype=torch.bool)
            if cfg['remove_empty_box']:
                mm = box3d_to_minmax(boxes)
                p = points[b, :, None, :3]
                inside = ((p >= mm[None, :, :3]) & (p <= mm[None, :, 3:])).all(-1).sum(0)
                keep = inside >= cfg['empty_box_points']
                if not bool(keep.any()):
                    keep[obj.argmax()] = True
            cand = keep.nonzero().squeeze(1)
            labels = sem.argmax(-1)
            kept = cand[class_aware_nms_3d(boxes[cand], obj[cand], labels[cand],
                                           cfg['nms_iou'])]
            kept = kept[obj[kept] > cfg['score_thr']]
            if cfg['per_class_proposal']:
                k, c = kept.numel(), sem.shape[-1]
                res = dict(
                    bboxes_3d=boxes[kept].repeat_interleave(c, dim=0),
                    scores_3d=(sem[kept] * obj[kept, None]).reshape(-1),
                    labels_3d=torch.arange(c, device=boxes.device).repeat(k))
            else:
                res = dict(bboxes_3d=boxes[kept], scores_3d=obj[kept], labels_3d=labels[kept])
            results.append(res)
        return results
