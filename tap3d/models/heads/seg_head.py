"""Per-point semantic segmentation head."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from tap3d.registry import MODELS


@MODELS.register_module()
class SegHead(BaseModule):
    """Per-point classifier: ``[Linear-BN-ReLU-Dropout] -> Linear(num_classes)``.

    With ``hidden_channels`` set, it is PTv2's head (``Linear(C, C)``, BN, ReLU,
    ``Linear(C, K)``); with ``hidden_channels=None`` it is a single linear layer
    (a 1x1 convolution, as sparse-conv U-Nets use).

    Args:
        in_channels: C, the backbone's per-point width.
        num_classes: K.
        hidden_channels: width of the hidden layer, or None for none.
        dropout: dropout before the last layer.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 hidden_channels: Optional[int] = None,
                 dropout: float = 0.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.num_classes = num_classes
        layers = []
        width = in_channels
        if hidden_channels is not None:
            layers += [nn.Linear(in_channels, hidden_channels),
                       nn.BatchNorm1d(hidden_channels), nn.ReLU(inplace=True)]
            width = hidden_channels
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """feats (ΣN, C) -> logits (ΣN, num_classes)."""
        if feats.dim() != 2 or feats.shape[1] != self.in_channels:
            raise ValueError(f'SegHead expects feats of shape (N, {self.in_channels}), '
                             f'got {tuple(feats.shape)}')
        return self.layers(feats)


__all__ = ['SegHead']
