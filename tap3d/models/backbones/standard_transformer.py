"""The standard point Transformer of Point-BERT / Point-MAE.

Points are split into ``num_groups`` local patches (FPS centres, ``group_size``
neighbours each by kNN or ball query), each patch is embedded by a mini-PointNet
(3->128->256, max, [global;local] 512->512->256, max), projected to the
Transformer width (384), and a class token is prepended. 12 pre-norm blocks with
6 heads follow; a learned MLP of the centre coordinates is added to the tokens
before every block. Parameter names follow Point-BERT, so its checkpoints (and
the TAP authors') map onto them by renaming ``blocks.blocks.i`` to ``blocks.i``
(tools/model_converters/). The encoder has 21,858,816 parameters. Point-MAE
embeds the patches at the Transformer width directly, without the projection:
``encoder_dims=384, project_tokens=False``.

For TAP the backbone exposes its patch tokens (without the class token) and the
patch centres; classification uses ``[cls ; max over patches]`` (768-d).
"""
from typing import Dict, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from tap3d.registry import MODELS

from ..utils.drop_path import DropPath

__all__ = ['StandardPointTransformer', 'PatchEmbed', 'TransformerBlock']


class Attention(nn.Module):
    """Multi-head self-attention through ``F.scaled_dot_product_attention``."""

    def __init__(self, dims: int, num_heads: int, qkv_bias: bool = False):
        super().__init__()
        if dims % num_heads:
            raise ValueError(f'Attention: width {dims} is not divisible by {num_heads} heads')
        self.num_heads = num_heads
        self.qkv = nn.Linear(dims, 3 * dims, bias=qkv_bias)
        self.proj = nn.Linear(dims, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, L, C). Returns (B, L, C)."""
        B, L, C = x.shape
        qkv = self.qkv(x).view(B, L, 3, self.num_heads, C // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, L, C/H)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(B, L, C))


class Mlp(nn.Module):

    def __init__(self, dims: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dims, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x + DP(Attn(LN x))`` then ``x + DP(MLP(LN x))``."""

    def __init__(self,
                 dims: int,
                 num_heads: int,
                 mlp_ratio: float = 4.0,
                 qkv_bias: bool = False,
                 drop_path: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dims)
        self.attn = Attention(dims, num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dims)
        self.mlp = Mlp(dims, int(dims * mlp_ratio))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, L, C). Returns (B, L, C)."""
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    """Mini-PointNet over each patch (Point-BERT's ``Encoder``).

    Args:
        out_channels: patch embedding width (``encoder_dims``).
        in_channels: channels of each neighbour (3: offsets from the centre).
    """

    def __init__(self, out_channels: int = 256, in_channels: int = 3):
        super().__init__()
        self.first_conv = nn.Sequential(
            nn.Conv1d(in_channels, 128, 1), nn.BatchNorm1d(128), nn.ReLU(inplace=True),
            nn.Conv1d(128, 256, 1))
        self.second_conv = nn.Sequential(
            nn.Conv1d(512, 512, 1), nn.BatchNorm1d(512), nn.ReLU(inplace=True),
            nn.Conv1d(512, out_channels, 1))
        self.out_channels = out_channels

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """Args: patches (B, G, K, C_in). Returns (B, G, out_channels)."""
        B, G, K, C = patches.shape
        x = self.first_conv(patches.reshape(B * G, K, C).transpose(1, 2))  # (BG, 256, K)
        pooled = x.amax(dim=-1, keepdim=True)
        x = self.second_conv(torch.cat([pooled.expand(-1, -1, K), x], dim=1))
        return x.amax(dim=-1).view(B, G, self.out_channels)


@MODELS.register_module()
class StandardPointTransformer(BaseModule):
    """Point-BERT / Point-MAE standard Transformer encoder.

    Args:
        in_channels: must be 3: the Transformer reads only ``inputs['coord']``
            (patch offsets and centres), so ``inputs['feat']`` is ignored.
        num_groups: number of patches (FPS centres), 64 for 1024-point
            ModelNet/few-shot as in Point-BERT, 256 in the TAP ScanObjectNN recipes.
        group_size: points per patch.
        grouping: ``'knn'`` (Point-BERT/Point-MAE) or ``'ball'`` (ball query of
            ``radius``, the TAP authors' ScanObjectNN setting).
        radius: ball radius for ``grouping='ball'``.
        encoder_dims: patch embedding width before projection to ``embed_dims``.
        embed_dims: Transformer width.
        depth: number of blocks.
        num_heads: attention heads.
        mlp_ratio: MLP hidden width / ``embed_dims``.
        drop_path_rate: stochastic depth, linearly increasing over the blocks.
        project_tokens: project the patch embeddings to ``embed_dims`` with a
            Linear layer (``reduce_dim``, Point-BERT); False leaves it out, as
            Point-MAE does, and needs ``encoder_dims == embed_dims``.
        init_cfg: mmengine init config.

    ``forward`` returns ``coords (B, G, 3)`` (patch centres), ``feats (B, G, C)``
    (normalised patch tokens) and ``global_feat (B, 2C)`` = ``[cls ; max(tokens)]``.
    """

    def __init__(self,
                 in_channels: int = 3,
                 num_groups: int = 64,
                 group_size: int = 32,
                 grouping: str = 'knn',
                 radius: float = 0.1,
                 encoder_dims: int = 256,
                 embed_dims: int = 384,
                 depth: int = 12,
                 num_heads: int = 6,
                 mlp_ratio: float = 4.0,
                 drop_path_rate: float = 0.1,
                 project_tokens: bool = True,
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        if in_channels != 3:
            raise ValueError(f'StandardPointTransformer reads only xyz (in_channels=3), got '
                             f'in_channels={in_channels}')
        if grouping not in ('knn', 'ball'):
            raise ValueError(f"StandardPointTransformer: grouping must be 'knn' or 'ball', "
                             f'got {grouping!r}')
        self.in_channels = in_channels
        self.num_groups = num_groups
        self.group_size = group_size
        self.grouping = grouping
        self.radius = radius
        if not project_tokens and encoder_dims != embed_dims:
            raise ValueError(f'StandardPointTransformer: project_tokens=False needs '
                             f'encoder_dims == embed_dims, got {encoder_dims} and {embed_dims}')
        self.encoder = PatchEmbed(encoder_dims, in_channels)
        self.reduce_dim = nn.Linear(encoder_dims, embed_dims) if project_tokens else nn.Identity()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.cls_pos = nn.Parameter(torch.randn(1, 1, embed_dims))
        self.pos_embed = nn.Sequential(
            nn.Linear(3, 128), nn.GELU(), nn.Linear(128, embed_dims))
        rates = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]  # linspace
        self.blocks = nn.ModuleList([
            TransformerBlock(embed_dims, num_heads, mlp_ratio, drop_path=r) for r in rates
        ])
        self.norm = nn.LayerNorm(embed_dims)
        self.out_channels = embed_dims
        self.global_channels = 2 * embed_dims
        self._init_params()

    def _init_params(self):
        # Point-BERT's initialisation; a Pretrained init_cfg overwrites it later.
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.cls_pos, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv1d):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def group(self, points: torch.Tensor):
        """Split a point cloud into patches.

        Args:
            points: (B, N, 3).

        Returns:
            patches (B, G, K, 3) offsets from their centre, centres (B, G, 3).
        """
        from tap3d import ops
        if self.num_groups > points.shape[1] or self.group_size > points.shape[1]:
            raise ValueError(f'StandardPointTransformer: {self.num_groups} groups of '
                             f'{self.group_size} need more than {points.shape[1]} points')
        centres = ops.gather_points(points, ops.furthest_point_sample(points, self.num_groups))
        if self.grouping == 'knn':
            _, idx = ops.knn(centres, points, self.group_size)
        else:
            idx = ops.ball_query(centres, points, self.radius, self.group_size)
        patches = ops.group_points(points, idx) - centres.unsqueeze(2)
        return patches, centres

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Encode a batch.

        Args:
            inputs: ``points (B, N, 3)``; other keys are ignored.

        Returns:
            dict with ``coords (B, G, 3)``, ``feats (B, G, C)``, ``global_feat (B, 2C)``.
        """
        points = inputs['coord']
        patches, centres = self.group(points)
        tokens = self.reduce_dim(self.encoder(patches))  # (B, G, C)
        B = tokens.shape[0]
        x = torch.cat([self.cls_token.expand(B, -1, -1), tokens], dim=1)
        pos = torch.cat([self.cls_pos.expand(B, -1, -1), self.pos_embed(centres)], dim=1)
        for block in self.blocks:
            # Position is re-added before every block, as in Point-BERT.
            x = block(x + pos)
        x = self.norm(x)
        feats = x[:, 1:]
        global_feat = torch.cat([x[:, 0], feats.amax(dim=1)], dim=-1)
        return dict(coords=centres, feats=feats, global_feat=global_feat)
