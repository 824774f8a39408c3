"""Dropout with a cheaper random mask on CPU.

torch's CPU dropout draws one Bernoulli sample per element through a scalar
generator: in a TAP training step (B = 8, two threads) its masks took 0.23 s
(docs/benchmarks.md). :class:`Dropout` draws 64 random bits per 4 elements
instead (``int64.random_`` over the full range, 16 uniform bits per element)
and compares them with a threshold: 2.5x on forward + backward of the
photograph module's (8, 294, 1024) activation.

The drop probability is rounded to a multiple of 1/65536 (0.1 becomes
6554/65536 = 0.1000061...; the survivors are scaled by the inverse of the rounded keep
probability, so the expectation is exact). On other devices, and with
``fast=False``, it is ``torch.nn.Dropout``.
"""
import torch
import torch.nn as nn

_LEVELS = 1 << 16  # uniform int16 values per draw


def _keep_mask(shape, p, device):
    """Bool mask of ``shape``, each element True with probability ``1 - p_rounded``.

    Returns:
        tuple: the mask and the rounded keep probability.
    """
    n = 1
    for s in shape:
        n *= s
    dropped_levels = int(round(p * _LEVELS))
    # the full int64 range (from = -2**63, no upper bound): 64 random bits per word,
    # so each of its four int16 halves is uniform over all 65536 values
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=device).random_(-2**63, None)
    keep = (words.view(torch.int16) >= dropped_levels - _LEVELS // 2)[:n].view(shape)
    return keep, 1.0 - dropped_levels / _LEVELS


class _MaskedScale(torch.autograd.Function):
    """``x * keep / keep_prob`` saving only the bool mask."""

    @staticmethod
    def forward(ctx, x, keep, scale):
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return torch.mul(x, keep).mul_(scale)

    @staticmethod
    def backward(ctx, grad):
        keep, = ctx.saved_tensors
        return torch.mul(grad, keep).mul_(ctx.scale), None, None


def dropout(x, p=0.5, training=True):
    """Dropout of ``x`` (any shape) with the cheap mask (see the module doc)."""
    if not training or p == 0.0:
        return x
    if p >= 1.0:
        return x * 0.0
    keep, keep_prob = _keep_mask(x.shape, p, x.device)
    if keep_prob >= 1.0:  # p below half a level
        return x
    return _MaskedScale.apply(x, keep, 1.0 / keep_prob)


class Dropout(nn.Dropout):
    """``nn.Dropout`` with the cheap CPU mask of this module; (...) -> (...).

    Args:
        p (float): drop probability.
        inplace (bool): as ``nn.Dropout`` (then torch's implementation is used).
        fast (bool): False always uses torch's dropout (the reference variants do,
            as the authors' code does).
    """

    def __init__(self, p=0.5, inplace=False, fast=True):
        super().__init__(p, inplace)
        self.fast = fast

    def forward(self, x):
        if self.fast and not self.inplace and x.device.type == 'cpu':
            return dropout(x, self.p, self.training)
        return super().forward(x)

    def extra_repr(self):
        return super().extra_repr() + ('' if self.fast else ', fast=False')


def use_torch_dropout(module):
    """Make every :class:`Dropout` inside ``module`` use torch's implementation."""
    for m in module.modules():
        if isinstance(m, Dropout):
            m.fast = False
    return module
