"""Max over the neighbours of each group, with a one-pass backward on CPU.

``x.max(dim=-2)`` on (B, S, k, C) group features reads the groups once but
writes its backward as a zero fill of the whole (B, S, k, C) gradient plus a
scatter; on float32 CPU tensors :func:`group_max` runs the C++ kernel of
``csrc/mlp_cpu.cpp`` instead, which writes the dense gradient in one pass
(same values and the same choice among ties: the first maximum, as torch).
Elsewhere it is ``x.max(dim=-2)``.
"""
import torch

from .build import cpu_kernels


class _GroupMaxFunction(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, kernels):
        shape = x.shape
        k, C = shape[-2], shape[-1]
        values, index = kernels.group_max_forward(x.view(-1, k, C))
        ctx.save_for_backward(index)
        ctx.kernels, ctx.shape = kernels, shape
        ctx.mark_non_differentiable(index)
        return values.view(*shape[:-2], C)

    @staticmethod
    def backward(ctx, grad):
        index, = ctx.saved_tensors
        k, C = ctx.shape[-2], ctx.shape[-1]
        dx = ctx.kernels.group_max_backward(grad.reshape(-1, C).contiguous(), index, k)
        return dx.view(ctx.shape), None


def group_max(x):
    """Max over the group axis: x (..., k, C) -> (..., C)."""
    if (x.device.type == 'cpu' and x.dtype == torch.float32 and x.is_contiguous()
            and x.dim() >= 2 and x.shape[-2] > 0 and x.numel() > 0
            and not torch.is_autocast_enabled('cpu')):
        kernels = cpu_kernels()
        if kernels is not None:
            return _GroupMaxFunction.apply(x, kernels)
    return x.max(dim=-2)[0]
