"""A user's own backbone, outside the tap3d package, for TAP pre-training.

Loaded through ``custom_imports`` (see docs/new_backbone.md); nothing in tap3d
is changed to use it.
"""
import torch
import torch.nn as nn

from tap3d.registry import MODELS


@MODELS.register_module()
class ToyPointBackbone(nn.Module):
    """Per-point MLP, then max-pooling over the k nearest points of M centres.

    inputs ``points`` (B, N, 3), ``feats`` (B, N, C_in) -> ``coords`` (B, M, 3),
    ``feats`` (B, M, C), ``global_feat`` (B, C): the tap3d backbone contract.
    """

    def __init__(self, in_channels=4, channels=64, num_centers=32, k=16):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_channels, channels), nn.ReLU(),
                                 nn.Linear(channels, channels))
        self.num_centers, self.k = num_centers, k
        self.out_channels = channels  # the TAP head reads this as its in_channels

    def forward(self, inputs):
        xyz, x = inputs['coord'], self.mlp(inputs['feat'])  # (B, N, 3), (B, N, C)
        step = max(xyz.shape[1] // self.num_centers, 1)
        centres = xyz[:, ::step][:, :self.num_centers]  # (B, M, 3)
        idx = torch.cdist(centres, xyz).topk(self.k, largest=False).indices  # (B, M, k)
        B, M, k = idx.shape
        grouped = torch.gather(x, 1, idx.reshape(B, M * k, 1).expand(-1, -1, x.shape[-1]))
        feats = grouped.view(B, M, k, -1).max(dim=2).values  # (B, M, C)
        return dict(coords=centres, feats=feats, global_feat=feats.max(dim=1).values)
