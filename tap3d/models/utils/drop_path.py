"""Stochastic depth."""
import torch.nn as nn


def drop_path(x, drop_prob=0.0, training=False):
    """Zero whole samples of a residual branch with probability ``drop_prob``.

    Survivors are rescaled by ``1 / (1 - drop_prob)`` so the expectation is kept.
    x: (B, ...) -> (B, ...).
    """
    if drop_prob == 0.0 or not training:
        return x
    keep = 1.0 - drop_prob
    shape = (x.shape[0], ) + (1, ) * (x.ndim - 1)
    mask = x.new_empty(shape).bernoulli_(keep)
    return x * mask / keep


class DropPath(nn.Module):
    """Module form of :func:`drop_path`."""

    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self):
        return f'drop_prob={self.drop_prob}'
