"""Cross-entropy with label smoothing, as used by the TAP / PointNeXt recipes."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from tap3d.registry import MODELS

__all__ = ['LabelSmoothingCrossEntropy']


@MODELS.register_module()
class LabelSmoothingCrossEntropy(nn.Module):
    """Cross-entropy against a smoothed one-hot target.

    The target puts ``1 - smoothing`` on the true class and spreads ``smoothing``
    evenly over the *other* ``num_classes - 1`` classes (the PointNeXt / TAP
    convention, not torch's ``smoothing / num_classes`` over all classes).
    ``smoothing=0`` is plain cross-entropy. Half-precision logits (autocast)
    are upcast: the loss is computed in float32.

    Args:
        smoothing: probability mass moved off the true class (0.3 in TAP recipes).
        loss_weight: scale of the returned loss.
    """

    def __init__(self, smoothing: float = 0.0, loss_weight: float = 1.0):
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f'LabelSmoothingCrossEntropy: smoothing must be in [0, 1), '
                             f'got {smoothing}')
        self.smoothing = smoothing
        self.loss_weight = loss_weight

    def forward(self,
                logits: torch.Tensor,
                target: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Mean loss over the batch.

        Args:
            logits: (B, K) unnormalised scores.
            target: (B,) integer labels in [0, K).
            weight: optional (B,) per-sample weights.

        Returns:
            Scalar loss.
        """
        num_classes = logits.shape[-1]
        target = target.long().view(-1)
        if logits.dtype in (torch.float16, torch.bfloat16):  # autocast: the loss in float32
            logits = logits.float()
        log_prob = F.log_softmax(logits, dim=-1)
        if self.smoothing > 0 and num_classes > 1:
            off = self.smoothing / (num_classes - 1)
            dist = torch.full_like(log_prob, off)
            dist.scatter_(1, target.unsqueeze(1), 1.0 - self.smoothing)
            loss = -(dist * log_prob).sum(dim=-1)
        else:
            loss = -log_prob.gather(1, target.unsqueeze(1)).squeeze(1)
        if weight is not None:
            loss = loss * weight
        return self.loss_weight * loss.mean()
