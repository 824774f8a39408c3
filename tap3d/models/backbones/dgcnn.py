"""DGCNN (Wang et al., TOG 2019): dynamic-graph EdgeConv encoder.

Four EdgeConv layers (64, 64, 128, 256) on k = 20 nearest neighbours, the first
graph built on the coordinates and later ones on the current features, then a
fused 1x1 conv to a 1024-d per-point embedding. Edge features are
``[x_i ; x_j - x_i]``; convs have no bias (BN follows) and use LeakyReLU(0.2).
With 4 input channels the encoder has 617,984 parameters, and 1,803,023 as a
15-class classifier with the TAP head on ``[max ; mean]`` (2048-d).

For TAP the centres are the input points themselves (M = N), as in the TAP
authors' pre-training encoder: each point carries its 1024-d fused feature.
``num_centers`` optionally keeps an FPS subset to save memory in the
photograph module's cross-attention.
"""
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from tap3d.registry import MODELS

__all__ = ['DGCNN', 'EdgeConv', 'knn_indices']


def knn_indices(x: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the k nearest neighbours of every point within its own set.

    Args:
        x: (B, N, C) points or features (any C).
        k: number of neighbours; the point itself is included (distance 0).

    Returns:
        (B, N, k) long indices into the N points.
    """
    if k > x.shape[1]:
        raise ValueError(f'DGCNN: k={k} neighbours requested from only {x.shape[1]} points')
    # Indices carry no gradient: keep the (B, N, N) distances out of the graph.
    # float32 even under autocast (which would run the bmm in half precision):
    # half-precision distances reorder neighbours.
    with torch.no_grad(), torch.autocast(device_type=x.device.type, enabled=False):
        x = x.float()
        # Squared distances through the Gram matrix: one matmul, same on CPU and CUDA.
        sq = (x * x).sum(dim=-1)
        dist = sq.unsqueeze(2) - 2.0 * torch.bmm(x, x.transpose(1, 2)) + sq.unsqueeze(1)
        return dist.topk(k, dim=-1, largest=False).indices


class EdgeConv(nn.Module):
    """EdgeConv: shared MLP on ``[x_i ; x_j - x_i]`` over a kNN graph, max over neighbours.

    Args:
        in_channels: C of the input features.
        out_channels: C' of the output features.
        negative_slope: LeakyReLU slope.
    """

    def __init__(self, in_channels: int, out_channels: int, negative_slope: float = 0.2):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(2 * in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels), nn.LeakyReLU(negative_slope, inplace=True))

    def forward(self, feats: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Args: feats (B, N, C), idx (B, N, k). Returns (B, N, C')."""
        B, N, C = feats.shape
        k = idx.shape[-1]
        batch = torch.arange(B, device=feats.device).view(B, 1, 1)
        neighbours = feats[batch, idx]  # (B, N, k, C)
        centre = feats.unsqueeze(2).expand(B, N, k, C)
        edge = torch.cat([centre, neighbours - centre], dim=-1).permute(0, 3, 1, 2).contiguous()
        return self.conv(edge).amax(dim=-1).transpose(1, 2).contiguous()


@MODELS.register_module()
class DGCNN(BaseModule):
    """DGCNN encoder.

    Args:
        in_channels: input feature channels (``inputs['feat']``), e.g. 4 for
            xyz + height; without ``feats`` the coordinates are used.
        channels: output widths of the EdgeConv layers.
        embed_dims: width of the fused per-point embedding.
        k: neighbours per point.
        negative_slope: LeakyReLU slope.
        num_centers: if set, ``coords``/``feats`` keep only this many points
            chosen by FPS (the global feature still pools all points).
        init_cfg: mmengine init config.

    ``forward`` returns ``coords (B, M, 3)``, ``feats (B, M, embed_dims)`` and
    ``global_feat (B, 2 * embed_dims)`` = max-pool ++ mean-pool over all points.
    """

    def __init__(self,
                 in_channels: int = 4,
                 channels: Sequence[int] = (64, 64, 128, 256),
                 embed_dims: int = 1024,
                 k: int = 20,
                 negative_slope: float = 0.2,
                 num_centers: Optional[int] = None,
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.k = k
        self.num_centers = num_centers
        self.edge_convs = nn.ModuleList()
        last = in_channels
        for c in channels:
            self.edge_convs.append(EdgeConv(last, c, negative_slope))
            last = c
        self.fusion = nn.Sequential(
            nn.Conv1d(sum(channels), embed_dims, 1, bias=False), nn.BatchNorm1d(embed_dims),
            nn.LeakyReLU(negative_slope, inplace=True))
        self.out_channels = embed_dims
        self.global_channels = 2 * embed_dims

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Encode a batch.

        Args:
            inputs: ``points (B, N, 3)`` and optionally ``feats (B, N, in_channels)``.

        Returns:
            dict with ``coords (B, M, 3)``, ``feats (B, M, C)``, ``global_feat (B, 2C)``;
            M = N unless ``num_centers`` is set.
        """
        points = inputs['coord']
        x = inputs.get('feat', None)
        if x is None:
            x = points
        if x.shape[-1] != self.in_channels:
            raise ValueError(f'DGCNN expects {self.in_channels} input feature channels, '
                             f'got feats of shape {tuple(x.shape)}')
        outs = []
        graph_on = points  # the first graph is spatial, later ones live in feature space
        for conv in self.edge_convs:
            x = conv(x, knn_indices(graph_on, self.k))
            outs.append(x)
            graph_on = x
        fused = self.fusion(torch.cat(outs, dim=-1).transpose(1, 2))  # (B, E, N)
        global_feat = torch.cat([fused.amax(dim=-1), fused.mean(dim=-1)], dim=-1)
        feats = fused.transpose(1, 2).contiguous()
        coords = points
        if self.num_centers is not None and self.num_centers < points.shape[1]:
            from tap3d import ops
            idx = ops.furthest_point_sample(points, self.num_centers)
            coords = ops.gather_points(points, idx)
            feats = ops.gather_points(feats, idx)
        return dict(coords=coords, feats=feats, global_feat=global_feat)
