"""PointNet++ (Qi et al., NeurIPS 2017): set abstraction with ball-query grouping.

The SSG preset matches the configuration that TAP pre-trains and fine-tunes
(three stages, mlps 64-64-128 / 128-128-256 / 256-512-1024, conv without bias +
BN + ReLU, relative offsets concatenated with neighbour features). As a
15-class ScanObjectNN classifier with 4 input channels it has 1,466,191
parameters (encoder 805,440). The MSG preset follows the PointNet++ paper.

For classification the last stage groups all points into one centre. For TAP
pre-training the last stage instead keeps ``num_points[-1]`` centres with a ball
query, so the photograph module sees a set of local 1024-d features; both forms
have exactly the same weights, so a pre-trained encoder loads unchanged.
"""
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from tap3d.registry import MODELS

__all__ = ['PointNet2', 'SetAbstraction']

# Presets: per stage num_points (None = group all), radii, num_samples, mlps per scale.
ARCH_SETTINGS = {
    'ssg': dict(
        num_points=(512, 128, None),
        radii=((0.2, ), (0.4, ), None),
        num_samples=((32, ), (64, ), None),
        mlps=(((64, 64, 128), ), ((128, 128, 256), ), ((256, 512, 1024), ))),
    'msg': dict(
        num_points=(512, 128, None),
        radii=((0.1, 0.2, 0.4), (0.2, 0.4, 0.8), None),
        num_samples=((16, 32, 128), (32, 64, 128), None),
        mlps=(((32, 32, 64), (64, 64, 128), (64, 96, 128)),
              ((64, 64, 128), (128, 128, 256), (128, 128, 256)),
              ((256, 512, 1024), ))),
}


def _as_tuple(value, length: Optional[int] = None):
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return (value, ) * (length or 1)
    return tuple(value)


def _ops():
    # Imported lazily so that building configs does not pull every op module.
    from tap3d import ops
    return ops


class SetAbstraction(nn.Module):
    """One set-abstraction level: sample centres, group neighbours, shared MLP, max-pool.

    Args:
        in_channels: feature channels of the input points (without xyz).
        mlps: one channel list per grouping scale.
        num_points: number of centres (FPS); None groups all points into one centre
            at the origin (the global stage of the classifier).
        radii: ball radius per scale (ignored when ``num_points`` is None).
        num_samples: neighbours per scale (ignored when ``num_points`` is None).
    """

    def __init__(self,
                 in_channels: int,
                 mlps: Sequence[Sequence[int]],
                 num_points: Optional[int] = None,
                 radii: Optional[Sequence[float]] = None,
                 num_samples: Optional[Sequence[int]] = None):
        super().__init__()
        self.num_points = num_points
        self.group_all = num_points is None
        n_scales = len(mlps)
        if not self.group_all:
            radii = _as_tuple(radii, n_scales)
            num_samples = _as_tuple(num_samples, n_scales)
            if len(radii) != n_scales or len(num_samples) != n_scales:
                raise ValueError(f'SetAbstraction: {n_scales} mlps but radii={radii} and '
                                 f'num_samples={num_samples}')
        self.radii = radii
        self.num_samples = num_samples
        self.branches = nn.ModuleList()
        for channels in mlps:
            layers = []
            last = in_channels + 3  # relative xyz offset ++ neighbour features
            for c in channels:
                # No bias: BN follows (this is also what makes the parameter count match).
                layers += [nn.Conv2d(last, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]
                last = c
            self.branches.append(nn.Sequential(*layers))
        self.out_channels = sum(c[-1] for c in mlps)

    def forward(self, xyz: torch.Tensor, feats: torch.Tensor):
        """Abstract a point set.

        Args:
            xyz: (B, N, 3) coordinates.
            feats: (B, N, C) features.

        Returns:
            new_xyz (B, M, 3) and new_feats (B, M, C_out); M = 1 when grouping all.
        """
        if self.group_all:
            new_xyz = xyz.new_zeros(xyz.shape[0], 1, 3)
            grouped = torch.cat([xyz, feats], dim=-1).unsqueeze(1)  # (B, 1, N, 3 + C)
            grouped = grouped.permute(0, 3, 1, 2).contiguous()
            new_feats = self.branches[0](grouped).amax(dim=-1)  # (B, C_out, 1)
            return new_xyz, new_feats.transpose(1, 2).contiguous()
        ops = _ops()
        if self.num_points > xyz.shape[1]:
            raise ValueError(f'SetAbstraction asks for {self.num_points} centres but the '
                             f'input has only {xyz.shape[1]} points')
        centre_idx = ops.furthest_point_sample(xyz, self.num_points)  # (B, M)
        new_xyz = ops.gather_points(xyz, centre_idx)  # (B, M, 3)
        outs = []
        for radius, nsample, branch in zip(self.radii, self.num_samples, self.branches):
            idx = ops.ball_query(new_xyz, xyz, radius, nsample)  # (B, M, K)
            offsets = ops.group_points(xyz, idx) - new_xyz.unsqueeze(2)  # (B, M, K, 3)
            grouped = torch.cat([offsets, ops.group_points(feats, idx)], dim=-1)
            grouped = grouped.permute(0, 3, 1, 2).contiguous()  # (B, 3 + C, M, K)
            outs.append(branch(grouped).amax(dim=-1))  # (B, C_i, M)
        new_feats = torch.cat(outs, dim=1).transpose(1, 2).contiguous()
        return new_xyz, new_feats


@MODELS.register_module()
class PointNet2(BaseModule):
    """PointNet++ encoder (SSG or MSG).

    Args:
        in_channels: input feature channels (``inputs['feat']``), e.g. 4 for
            xyz + height. Without ``feats`` the coordinates are used (3 channels).
        arch: ``'ssg'`` or ``'msg'`` preset.
        num_points, radii, num_samples, mlps: per-stage overrides of the preset.
            A scalar radius / sample count applies to every scale of its stage.
            ``num_points[i] = None`` groups all points (classification); TAP
            pre-training uses ``num_points=(512, 128, 64)``,
            ``radii=(0.2, 0.4, 0.2)``, ``num_samples=(32, 64, 32)``.
        init_cfg: mmengine init config (e.g. a ``Pretrained`` TAP checkpoint).

    Outputs of ``forward`` follow the backbone contract:
    ``coords (B, M, 3)``, ``feats (B, M, out_channels)``, ``global_feat (B, out_channels)``
    (max over the M centres).
    """

    def __init__(self,
                 in_channels: int = 4,
                 arch: str = 'ssg',
                 num_points: Optional[Sequence[Optional[int]]] = None,
                 radii: Optional[Sequence] = None,
                 num_samples: Optional[Sequence] = None,
                 mlps: Optional[Sequence] = None,
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_SETTINGS:
            raise ValueError(f'PointNet2: unknown arch {arch!r}; choose from '
                             f'{sorted(ARCH_SETTINGS)}')
        preset = ARCH_SETTINGS[arch]
        num_points = tuple(num_points) if num_points is not None else preset['num_points']
        radii = tuple(radii) if radii is not None else preset['radii']
        num_samples = tuple(num_samples) if num_samples is not None else preset['num_samples']
        mlps = tuple(mlps) if mlps is not None else preset['mlps']
        n = len(mlps)
        if not (len(num_points) == len(radii) == len(num_samples) == n):
            raise ValueError('PointNet2: num_points, radii, num_samples and mlps need one '
                             f'entry per stage, got {len(num_points)}, {len(radii)}, '
                             f'{len(num_samples)}, {n}')
        self.in_channels = in_channels
        self.stages = nn.ModuleList()
        last = in_channels
        for i in range(n):
            stage_mlps = mlps[i]
            # Accept a single channel list as one scale.
            if isinstance(stage_mlps[0], int):
                stage_mlps = (stage_mlps, )
            sa = SetAbstraction(last, stage_mlps, num_points[i], radii[i], num_samples[i])
            self.stages.append(sa)
            last = sa.out_channels
        self.out_channels = last
        self.global_channels = last

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Encode a batch.

        Args:
            inputs: ``points (B, N, 3)`` and optionally ``feats (B, N, in_channels)``.

        Returns:
            dict with ``coords (B, M, 3)``, ``feats (B, M, C)``, ``global_feat (B, C)``.
        """
        xyz = inputs['coord']
        feats = inputs.get('feat', None)
        if feats is None:
            feats = xyz
        if feats.shape[-1] != self.in_channels:
            raise ValueError(f'PointNet2 expects {self.in_channels} input feature channels, '
                             f'got feats of shape {tuple(feats.shape)}')
        for stage in self.stages:
            xyz, feats = stage(xyz, feats)
        return dict(coords=xyz, feats=feats, global_feat=feats.amax(dim=1))
