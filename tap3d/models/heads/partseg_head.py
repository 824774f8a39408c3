"""PointMLP part-segmentation decoder and head (Ma et al., ICLR 2022).

The decoder of the PointMLP authors' ShapeNetPart model, as TAP fine-tunes it:

- feature propagation from the deepest stage back to the input points: at each
  level the coarser features are interpolated onto the finer points by inverse
  squared-distance weighted three-NN, concatenated AFTER the finer level's own
  (skip) features, fused by a pointwise MLP and refined by residual blocks;
- a global context: each encoder level (embedding output included) is mapped to
  ``gmp_dim`` channels, max-pooled over its points, concatenated and mapped again;
- a category token: the one-hot object category (16 for ShapeNetPart) through a
  two-layer MLP (the authors' ``cls_map``);
- a per-point classifier ``Linear -> BN -> Dropout -> Linear`` over the 50 parts.
  Like the reference, there is no activation between the BN and the dropout.

Module names follow the reference (``decode_list``, ``cls_map``, ``gmp_map_list``,
``gmp_map_end``, ``classifier``); layers are channels-last ``Linear`` layers as in
tap3d's PointMLP backbone, whose stage outputs (``return_stages=True``) feed it.
"""
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from tap3d.ops import three_interpolate, three_nn
from tap3d.registry import MODELS

from ..backbones.pointmlp import ConvBNReLU1D, PointwiseBN, PointwiseLinear, PosExtraction

__all__ = ['PointMLPFeaturePropagation', 'PointMLPPartSegHead']


class PointMLPFeaturePropagation(nn.Module):
    """One upsampling step: interpolate coarse features onto fine points, fuse with the skip.

    Args:
        in_channels: skip channels + coarse channels.
        out_channels: output width.
        blocks: residual blocks after the fuse layer.
    """

    def __init__(self, in_channels: int, out_channels: int, blocks: int = 1,
                 res_expansion: float = 1.0, bias: bool = False, activation: str = 'relu'):
        super().__init__()
        self.fuse = ConvBNReLU1D(in_channels, out_channels, bias, activation)
        self.extraction = PosExtraction(out_channels, blocks, res_expansion, bias, activation)

    def forward(self, fine_xyz: torch.Tensor, coarse_xyz: torch.Tensor,
                fine_feats: torch.Tensor, coarse_feats: torch.Tensor) -> torch.Tensor:
        """fine_xyz (B, n, 3), coarse_xyz (B, m, 3), fine_feats (B, n, C1),
        coarse_feats (B, m, C2) -> (B, n, out_channels)."""
        if coarse_xyz.shape[1] == 1:
            up = coarse_feats.expand(-1, fine_xyz.shape[1], -1)
        else:
            dist2, idx = three_nn(fine_xyz, coarse_xyz)
            # the reference weights by 1 / squared distance (not by 1 / distance
            # like PointNet++'s CUDA op)
            recip = 1.0 / (dist2 + 1e-8)
            up = three_interpolate(coarse_feats, idx, recip / recip.sum(-1, keepdim=True))
        return self.extraction(self.fuse(torch.cat([fine_feats, up], dim=-1)))


@MODELS.register_module()
class PointMLPPartSegHead(BaseModule):
    """Decoder + per-point part classifier over PointMLP's stage outputs.

    Args:
        in_channels: widths of the encoder levels, finest first, i.e. the
            backbone's ``stage_channels`` (embedding, stage 1, ..., stage S);
            e.g. ``(64, 128, 256, 512, 1024)``.
        num_classes: number of parts (50 for ShapeNetPart).
        num_categories: number of object categories of the one-hot token (16).
        decoder_channels: output width of each upsampling step, coarsest first
            (S entries); the last one is the per-point width.
        decoder_blocks: residual blocks of each step (S entries); the TAP recipe
            uses 4 (the PointMLP paper 2).
        gmp_dim: width of the global-context feature.
        cls_dim: width of the category token.
        hidden_channels: width of the classifier's hidden layer.
        dropout: dropout before the last layer.
        res_expansion, bias, activation: as in the PointMLP backbone.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_classes: int = 50,
                 num_categories: int = 16,
                 decoder_channels: Sequence[int] = (512, 256, 128, 128),
                 decoder_blocks: Sequence[int] = (4, 4, 4, 4),
                 gmp_dim: int = 64,
                 cls_dim: int = 64,
                 hidden_channels: int = 128,
                 dropout: float = 0.5,
                 res_expansion: float = 1.0,
                 bias: bool = False,
                 activation: str = 'relu',
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        en_dims = list(in_channels)[::-1]  # coarsest first
        if len(decoder_channels) != len(en_dims) - 1 or len(decoder_blocks) != len(en_dims) - 1:
            raise ValueError(
                f'PointMLPPartSegHead: {len(en_dims)} encoder levels need '
                f'{len(en_dims) - 1} decoder_channels and decoder_blocks, got '
                f'{len(decoder_channels)} and {len(decoder_blocks)}')
        self.num_classes = num_classes
        self.num_categories = num_categories
        de_dims = [en_dims[0]] + list(decoder_channels)
        self.decode_list = nn.ModuleList([
            PointMLPFeaturePropagation(de_dims[i] + en_dims[i + 1], de_dims[i + 1],
                                       decoder_blocks[i], res_expansion, bias, activation)
            for i in range(len(en_dims) - 1)
        ])
        self.cls_map = nn.Sequential(
            ConvBNReLU1D(num_categories, cls_dim, bias, activation),
            ConvBNReLU1D(cls_dim, cls_dim, bias, activation))
        self.gmp_map_list = nn.ModuleList(
            [ConvBNReLU1D(c, gmp_dim, bias, activation) for c in en_dims])
        self.gmp_map_end = ConvBNReLU1D(gmp_dim * len(en_dims), gmp_dim, bias, activation)
        self.classifier = nn.Sequential(
            PointwiseLinear(gmp_dim + cls_dim + de_dims[-1], hidden_channels, bias=bias),
            PointwiseBN(hidden_channels), nn.Dropout(dropout),
            PointwiseLinear(hidden_channels, num_classes, bias=bias))

    def forward(self, backbone_out: Dict[str, List[torch.Tensor]],
                category: torch.Tensor) -> torch.Tensor:
        """Per-point part logits.

        Args:
            backbone_out: the backbone's output with ``stage_coords``
                [(B, N_l, 3)] and ``stage_feats`` [(B, N_l, C_l)], finest first.
            category: (B,) int64 object category in [0, num_categories).

        Returns:
            (B, N_0, num_classes) logits for the input points.
        """
        if 'stage_feats' not in backbone_out:
            raise KeyError('PointMLPPartSegHead needs the backbone\'s stage outputs; build '
                           'the backbone with return_stages=True')
        xyz_list = backbone_out['stage_coords'][::-1]
        x_list = backbone_out['stage_feats'][::-1]
        if len(x_list) != len(self.gmp_map_list):
            raise ValueError(f'PointMLPPartSegHead was built for {len(self.gmp_map_list)} '
                             f'encoder levels, the backbone gave {len(x_list)}')
        category = category.long().view(-1)
        if category.numel() != x_list[0].shape[0]:
            raise ValueError(f'PointMLPPartSegHead: {category.numel()} categories for a batch '
                             f'of {x_list[0].shape[0]}')
        if category.numel() and (category.min() < 0 or category.max() >= self.num_categories):
            raise ValueError(f'PointMLPPartSegHead: categories must lie in '
                             f'[0, {self.num_categories}), got {category.tolist()}')
        x = x_list[0]
        for i, fp in enumerate(self.decode_list):
            x = fp(xyz_list[i + 1], xyz_list[i], x_list[i + 1], x)
        pooled = [m(f).max(dim=1)[0] for m, f in zip(self.gmp_map_list, x_list)]
        context = self.gmp_map_end(torch.cat(pooled, dim=-1))  # (B, gmp_dim)
        onehot = F.one_hot(category, self.num_categories).to(x.dtype)
        token = self.cls_map(onehot)  # (B, cls_dim)
        n = x.shape[1]
        x = torch.cat([x, context.unsqueeze(1).expand(-1, n, -1),
                       token.unsqueeze(1).expand(-1, n, -1)], dim=-1)
        return self.classifier(x)
