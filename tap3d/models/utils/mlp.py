"""Small MLP building blocks shared by heads and backbones."""
import torch.nn as nn
import torch.nn.functional as F

from tap3d.ops.cpu import Dropout


class Mlp(nn.Module):
    """Two-layer MLP ``Linear(in, hidden) -> GELU -> Dropout -> Linear(hidden, out)``.

    The TAP Photograph module builds every MLP this way, with ``hidden`` equal to
    ``in_channels`` unless given.

    Args:
        in_channels (int): input width.
        out_channels (int): output width.
        hidden_channels (int, optional): hidden width; defaults to ``in_channels``.
        drop (float): dropout after the activation and after the output layer.
    """

    def __init__(self, in_channels, out_channels, hidden_channels=None, drop=0.0):
        super().__init__()
        hidden_channels = hidden_channels or in_channels
        self.fc1 = nn.Linear(in_channels, hidden_channels)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_channels, out_channels)
        self.drop = Dropout(drop)

    def forward(self, x):
        """(..., in_channels) -> (..., out_channels)."""
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class GEGLU(nn.Module):
    """Gated GELU projection: ``a * gelu(g)`` with ``[a, g] = Linear(x)``.

    (..., in_channels) -> (..., out_channels).
    """

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.proj = nn.Linear(in_channels, out_channels * 2)

    def forward(self, x):
        a, gate = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(gate)


class GEGLUFFN(nn.Module):
    """Transformer feed-forward layer with a GEGLU input projection.

    ``GEGLU(C -> ratio*C) -> Dropout -> Linear(ratio*C -> C) [-> Dropout]``;
    (..., C) -> (..., C).

    Args:
        channels (int): C.
        ratio (float): hidden width / C.
        drop (float): dropout rate.
        out_drop (bool): also apply dropout after the last linear. The TAP authors'
            feed-forward layer (latent-diffusion style) has none there; the state
            dict is the same either way.
    """

    def __init__(self, channels, ratio=4, drop=0.0, out_drop=True):
        super().__init__()
        hidden = int(channels * ratio)
        layers = [GEGLU(channels, hidden), Dropout(drop), nn.Linear(hidden, channels)]
        if out_drop:
            layers.append(Dropout(drop))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
