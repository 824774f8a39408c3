"""BatchNorm + residual + ReLU on rows (R, C), fused on CPU in training mode.

In a TAP training step with PointMLP (B = 8, two threads) the BN and ReLU
passes over the (B·S·k, C) group tensors, forward and backward, took about
0.6 s with torch's ops (docs/benchmarks.md). :func:`batch_norm_act` computes
``act(bn(x) [+ residual])`` with the same result as the separate torch ops; in
training mode on float32 CPU tensors it runs a C++ kernel
(``csrc/mlp_cpu.cpp``, built by :mod:`.cpu_kernels`) that needs two passes over
the activations forward and two backward. Everywhere else (CUDA, eval mode, bf16
autocast, another activation, no C++ compiler, ``TAP3D_CPU_KERNELS=0``) it runs
the torch ops.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .build import cpu_kernels


class _BatchNormActFunction(torch.autograd.Function):
    """Training-mode BN over rows + optional residual + optional ReLU (the C++ kernel)."""

    @staticmethod
    def forward(ctx, x, weight, bias, residual, eps, relu, kernels):
        y, mean, invstd, var = kernels.bn_act_forward(x, weight, bias, residual, eps, relu)
        ctx.kernels, ctx.relu = kernels, relu
        ctx.has_residual = residual is not None
        # the backward pass recomputes the ReLU mask from x and the residual
        ctx.save_for_backward(x, residual if relu else None, weight, bias, mean, invstd)
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    def backward(ctx, grad_y, _grad_mean, _grad_var):
        x, residual, weight, bias, mean, invstd = ctx.saved_tensors
        dx, dres, dweight, dbias = ctx.kernels.bn_act_backward(
            grad_y.contiguous(), x, residual, weight, bias, mean, invstd, ctx.relu,
            ctx.has_residual and ctx.needs_input_grad[3])
        return (dx, dweight if weight is not None else None, dbias if bias is not None else None,
                dres if ctx.has_residual else None, None, None, None)


def _fusable(x, bn, residual, activation):
    if isinstance(bn, nn.SyncBatchNorm):
        return False  # statistics across processes: torch's op
    if not (bn.training or not bn.track_running_stats):
        return False  # running statistics: plain affine map, torch's op is fine
    if activation is not None and not isinstance(activation, nn.ReLU):
        return False
    tensors = [x] + ([residual] if residual is not None else [])
    params = [p for p in (bn.weight, bn.bias) if p is not None]
    return (x.dim() == 2 and x.shape[0] > 1 and all(
        t.device.type == 'cpu' and t.dtype == torch.float32 and t.is_contiguous()
        for t in tensors + params) and (residual is None or residual.shape == x.shape)
            and not torch.is_autocast_enabled('cpu'))


def batch_norm_act(x, bn, residual=None, activation=None):
    """``activation(bn(x) + residual)`` on rows: x (R, C) -> (R, C).

    Args:
        x (Tensor): (R, C) the rows to normalise (statistics over R).
        bn (nn.BatchNorm1d): supplies the parameters, eps, momentum and running
            statistics (updated as ``bn(x)`` would in training mode); it must
            return a fresh tensor for 2-D input (``PointwiseBN`` and torch's BN
            layers do).
        residual (Tensor, optional): (R, C) added after BN.
        activation (nn.Module, optional): applied last; ``nn.ReLU`` is fused.

    Returns:
        Tensor: (R, C), a fresh tensor (never a view of x or residual).
    """
    kernels = cpu_kernels() if _fusable(x, bn, residual, activation) else None
    if kernels is None:
        y = bn(x)  # (a SyncBatchNorm after conversion keeps its synchronisation)
        if residual is not None:
            y += residual  # in place: BN's backward does not read its output
        if activation is None:
            return y
        return F.relu(y, inplace=True) if isinstance(activation, nn.ReLU) else activation(y)
    if bn.training and bn.track_running_stats:
        bn.num_batches_tracked.add_(1)
        momentum = (1.0 / float(bn.num_batches_tracked)
                    if bn.momentum is None else bn.momentum)
    y, mean, var = _BatchNormActFunction.apply(x, bn.weight, bn.bias, residual, bn.eps,
                                               activation is not None, kernels)
    if bn.training and bn.track_running_stats:
        with torch.no_grad():
            bn.running_mean.lerp_(mean, momentum)
            bn.running_var.lerp_(var, momentum)
    return y
