"""Poly-1 focal loss, the loss of the TAP authors' ShapeNetPart recipe (openpoints).

Per class k, with ``p = sigmoid(z)`` and the one-hot target ``y``:

    p_t   = y·p + (1 − y)·(1 − p)
    FL    = α_t · BCE(z, y) · (1 − p_t)^γ,     α_t = α·y + (1 − α)·(1 − y)
    loss  = FL + ε · (1 − p_t)^(γ + 1)

averaged over every (sample, class) pair. It treats the K classes as K binary
problems (sigmoid, not softmax), as the authors' code does.
"""
import torch
import torch.nn.functional as F
from torch import nn

from tap3d.registry import MODELS

__all__ = ['Poly1FocalLoss']


@MODELS.register_module()
class Poly1FocalLoss(nn.Module):
    """Sigmoid focal loss plus the poly-1 term ``ε (1 − p_t)^(γ+1)``.

    Args:
        epsilon (float): weight of the poly-1 term (1.0 in openpoints).
        alpha (float): focal class balance; a negative value turns it off.
        gamma (float): focal exponent.
        loss_weight (float): scale of the returned loss.
    """

    def __init__(self, epsilon: float = 1.0, alpha: float = 0.25, gamma: float = 2.0,
                 loss_weight: float = 1.0):
        super().__init__()
        if gamma < 0:
            raise ValueError(f'Poly1FocalLoss: gamma must be >= 0, got {gamma}')
        self.epsilon, self.alpha, self.gamma = epsilon, alpha, gamma
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss.

        Args:
            logits: (P, K) scores.
            target: (P,) integer labels in [0, K).

        Returns:
            Scalar loss, the mean over the P × K binary terms.
        """
        if logits.dim() != 2 or target.shape != logits.shape[:1]:
            raise ValueError(f'Poly1FocalLoss: expected logits (P, K) and target (P,), got '
                             f'{tuple(logits.shape)} and {tuple(target.shape)}')
        y = F.one_hot(target.long(), logits.shape[1]).to(logits.dtype)
        p = torch.sigmoid(logits)
        bce = F.binary_cross_entropy_with_logits(logits, y, reduction='none')
        one_minus_pt = 1 - (y * p + (1 - y) * (1 - p))
        focal = bce * one_minus_pt ** self.gamma
        if self.alpha >= 0:
            focal = (self.alpha * y + (1 - self.alpha) * (1 - y)) * focal
        loss = focal + self.epsilon * one_minus_pt ** (self.gamma + 1)
        return self.loss_weight * loss.mean()
