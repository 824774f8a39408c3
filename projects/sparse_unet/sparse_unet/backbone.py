"""A sparse-convolution U-Net (the shape of Pointcept's SpUNet-v1m1) on spconv.

Points in offset form are voxelised on a regular grid, run through a stem, four
down stages (stride-2 sparse conv + residual blocks) and four up stages (inverse
conv + skip concatenation + residual blocks), and the voxel features are copied
back to the points. With ``out='encoder'`` only the stem and down stages exist
and the deepest level (stride 16) is returned as tokens for TAP pre-training.
"""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from tap3d.registry import MODELS


def _spconv():
    """spconv.pytorch, imported on first use with an install hint."""
    try:
        import spconv.pytorch as spconv
    except ImportError as err:
        raise ImportError(
            'SpUNetBackbone needs spconv: pip install spconv-cu120 (the CUDA 12 wheel '
            'also runs on CPU with the native algorithm)') from err
    return spconv


def _algo(name: Optional[str]):
    if name is None:
        return None
    algos = {'native': 'Native', 'mask_implicit_gemm': 'MaskImplicitGemm',
             'mask_split_implicit_gemm': 'MaskSplitImplicitGemm'}
    if name not in algos:
        raise ValueError(f'SpUNetBackbone: conv_algo must be one of {sorted(algos)} or None, '
                         f'got {name!r}')
    return getattr(_spconv().ConvAlgo, algos[name])


def _norm(channels: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(channels, eps=1e-3, momentum=0.01)


class SpUNetConvBNReLU(nn.Module):
    """A sparse (or inverse, or submanifold) conv, BatchNorm and ReLU on a SparseConvTensor."""

    def __init__(self, conv: nn.Module, channels: int):
        super().__init__()
        self.conv = conv
        self.norm = _norm(channels)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.conv(x)
        return x.replace_feature(self.act(self.norm(x.features)))


class SpUNetBasicBlock(nn.Module):
    """Residual block of two 3x3x3 submanifold convs (1x1 projection when widths differ)."""

    def __init__(self, in_channels: int, channels: int, indice_key: str, algo=None):
        super().__init__()
        spconv = _spconv()
        self.proj = None
        if in_channels != channels:
            self.proj = nn.ModuleDict(dict(
                conv=spconv.SubMConv3d(in_channels, channels, 1, bias=False, algo=algo),
                norm=_norm(channels)))
        self.conv1 = spconv.SubMConv3d(in_channels, channels, 3, padding=1, bias=False,
                                       indice_key=indice_key, algo=algo)
        self.bn1 = _norm(channels)
        self.conv2 = spconv.SubMConv3d(channels, channels, 3, padding=1, bias=False,
                                       indice_key=indice_key, algo=algo)
        self.bn2 = _norm(channels)
        self.act = nn.ReLU()

    def forward(self, x):
        """SparseConvTensor (V, Cin) -> SparseConvTensor (V, C) on the same voxels."""
        if self.proj is None:
            identity = x.features
        else:
            identity = self.proj['norm'](self.proj['conv'](x).features)
        out = self.conv1(x)
        out = out.replace_feature(self.act(self.bn1(out.features)))
        out = self.conv2(out)
        return out.replace_feature(self.act(self.bn2(out.features) + identity))


def _voxel_keys(batch: torch.Tensor, grid: torch.Tensor, span: int) -> torch.Tensor:
    """Unique int64 key per (sample, voxel): batch (N,), grid (N, 3) in [0, span) -> (N,)."""
    return ((batch * span + grid[:, 0]) * span + grid[:, 1]) * span + grid[:, 2]


@MODELS.register_module()
class SpUNetBackbone(BaseModule):
    """Sparse-conv U-Net backbone on offset-form scene batches.

    Args:
        in_channels: input feature width (9 on ScanNet).
        base_channels: stem width.
        channels: 4 encoder widths then 4 decoder widths.
        layers: residual blocks per stage, same order as ``channels``.
        grid_size: voxel edge in metres, used when ``inputs`` has no ``grid_coord``.
        out: ``'decoder'`` gives per-point features (width ``channels[-1]``);
            ``'encoder'`` builds no decoder and gives the stride-16 voxels.
        conv_algo: spconv algorithm; ``'native'`` runs on CPU and GPU alike, None
            lets spconv choose (implicit GEMM, GPU only).
        init_cfg: mmengine init config.

    ``forward(inputs)`` reads ``coord (ΣN, 3)``, ``feat (ΣN, in_channels)``,
    ``offset (B,)`` and optional integer ``grid_coord (ΣN, 3)``. Points sharing a
    voxel are averaged into it. Returns ``coords``, ``feats``, ``offset`` in
    offset form: per input point (decoder), or per deepest voxel with the mean
    coordinate of its points, sorted by sample (encoder).
    """

    def __init__(self,
                 in_channels: int = 9,
                 base_channels: int = 32,
                 channels: Sequence[int] = (32, 64, 128, 256, 256, 128, 96, 96),
                 layers: Sequence[int] = (2, 3, 4, 6, 2, 2, 2, 2),
                 grid_size: float = 0.02,
                 out: str = 'decoder',
                 conv_algo: Optional[str] = 'native',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if len(channels) != len(layers) or len(layers) % 2:
            raise ValueError('SpUNetBackbone: channels and layers need the same even length, '
                             f'got {len(channels)} and {len(layers)}')
        if out not in ('decoder', 'encoder'):
            raise ValueError(f"SpUNetBackbone: out must be 'decoder' or 'encoder', got {out!r}")
        spconv = _spconv()
        algo = _algo(conv_algo)
        self.in_channels = in_channels
        self.grid_size = grid_size
        self.out = out
        self.num_stages = len(layers) // 2
        self.stride = 2**self.num_stages
        self.stem = SpUNetConvBNReLU(
            spconv.SubMConv3d(in_channels, base_channels, 5, padding=1, bias=False,
                              indice_key='stem', algo=algo), base_channels)
        self.down = nn.ModuleList()
        self.enc = nn.ModuleList()
        self.up = nn.ModuleList() if out == 'decoder' else None
        self.dec = nn.ModuleList() if out == 'decoder' else None
        enc_ch, dec_ch = base_channels, channels[-1]
        for s in range(self.num_stages):
            self.down.append(SpUNetConvBNReLU(
                spconv.SparseConv3d(enc_ch, channels[s], 2, stride=2, bias=False,
                                    indice_key=f'spconv{s + 1}', algo=algo), channels[s]))
            self.enc.append(nn.ModuleList([
                SpUNetBasicBlock(channels[s], channels[s], f'subm{s + 1}', algo)
                for _ in range(layers[s])
            ]))
            if out == 'decoder':
                # up stage s undoes down stage s; it reads the width one level deeper
                deeper = channels[len(channels) - s - 2]
                self.up.append(SpUNetConvBNReLU(
                    spconv.SparseInverseConv3d(deeper, dec_ch, 2, bias=False,
                                               indice_key=f'spconv{s + 1}', algo=algo),
                    dec_ch))
                n_blocks = layers[len(channels) - s - 1]
                self.dec.append(nn.ModuleList([
                    SpUNetBasicBlock(dec_ch + enc_ch if i == 0 else dec_ch, dec_ch,
                                     f'subm{s}', algo) for i in range(n_blocks)
                ]))
            enc_ch = channels[s]
            dec_ch = channels[len(channels) - s - 2]
        self.out_channels = channels[-1] if out == 'decoder' else channels[self.num_stages - 1]
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        spconv = _spconv()
        if isinstance(m, (nn.Linear, spconv.SubMConv3d)):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def _voxelise(self, inputs: Dict[str, torch.Tensor]):
        """Group points into voxels.

        Returns batch (N,), grid (N, 3) long, inverse (N,) point -> voxel,
        voxel_batch (V,), voxel_grid (V, 3), voxel_feat (V, C).
        """
        coord, feat, offset = inputs['coord'], inputs['feat'], inputs['offset'].long()
        counts = torch.diff(offset, prepend=offset.new_zeros(1))
        batch = torch.repeat_interleave(torch.arange(len(offset), device=coord.device), counts)
        if inputs.get('grid_coord') is not None:
            grid = inputs['grid_coord'].long()
        else:
            start = torch.full((len(offset), 3), float('inf'), device=coord.device,
                               dtype=coord.dtype)
            start = start.scatter_reduce(0, batch[:, None].expand(-1, 3), coord, 'amin')
            grid = torch.floor((coord - start[batch]) / self.grid_size).long()
        if grid.numel() and int(grid.min()) < 0:
            raise ValueError('SpUNetBackbone: grid_coord must be non-negative')
        keys = _voxel_keys(batch, grid, int(grid.max()) + 1 if grid.numel() else 1)
        _, inverse = torch.unique(keys, return_inverse=True)
        num_voxels = int(inverse.max()) + 1
        ones = torch.ones_like(inverse, dtype=feat.dtype)
        count = torch.zeros(num_voxels, device=feat.device, dtype=feat.dtype).index_add_(
            0, inverse, ones)
        voxel_feat = torch.zeros(num_voxels, feat.shape[1], device=feat.device,
                                 dtype=feat.dtype).index_add_(0, inverse, feat) / count[:, None]
        first = torch.full((num_voxels, ), len(inverse), device=feat.device, dtype=torch.long)
        first = first.scatter_reduce(0, inverse, torch.arange(len(inverse), device=feat.device),
                                     'amin')
        return batch, grid, inverse, batch[first], grid[first], voxel_feat

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """inputs {coord (ΣN,3), feat (ΣN,Cin), offset (B,), [grid_coord (ΣN,3)]} ->
        {coords (ΣM,3), feats (ΣM,out_channels), offset (B,)}."""
        for key in ('coord', 'feat', 'offset'):
            if key not in inputs:
                raise KeyError(f"SpUNetBackbone needs inputs['{key}'] (offset-form batch)")
        if inputs['feat'].shape[-1] != self.in_channels:
            raise ValueError(f"SpUNetBackbone: feat has {inputs['feat'].shape[-1]} channels, "
                             f'in_channels={self.in_channels}')
        spconv = _spconv()
        batch, grid, inverse, v_batch, v_grid, v_feat = self._voxelise(inputs)
        # spatial extent rounded up so every stride-2 level divides it exactly
        shape = ((v_grid.max(0).values + 1 + self.stride - 1) // self.stride *
                 self.stride).tolist()
        x = spconv.SparseConvTensor(
            features=v_feat.float(),
            indices=torch.cat([v_batch[:, None], v_grid], 1).int().contiguous(),
            spatial_shape=shape,
            batch_size=len(inputs['offset']))
        x = self.stem(x)
        skips = [x]
        for down, blocks in zip(self.down, self.enc):
            x = down(x)
            for block in blocks:
                x = block(x)
            skips.append(x)
        if self.out == 'encoder':
            return self._deep_tokens(x, inputs, batch, grid)
        skips.pop()
        for s in reversed(range(self.num_stages)):
            x = self.up[s](x)
            skip = skips.pop()
            x = x.replace_feature(torch.cat([x.features, skip.features], 1))
            for block in self.dec[s]:
                x = block(x)
        # the stem keeps the input voxel order, so row v is voxel v
        return dict(coords=inputs['coord'], feats=x.features[inverse],
                    offset=inputs['offset'])

    def _deep_tokens(self, x, inputs, batch, grid) -> Dict[str, torch.Tensor]:
        """Deepest voxels as offset-form tokens with their points' mean coordinate."""
        coord = inputs['coord']
        span = int(grid.max()) // self.stride + 1 if grid.numel() else 1
        deep_keys = _voxel_keys(batch, grid // self.stride, span)
        uniq, inv = torch.unique(deep_keys, return_inverse=True)
        sums = torch.zeros(len(uniq), 3, device=coord.device, dtype=coord.dtype)
        sums.index_add_(0, inv, coord)
        cnt = torch.zeros(len(uniq), device=coord.device, dtype=coord.dtype)
        cnt.index_add_(0, inv, torch.ones_like(inv, dtype=coord.dtype))
        means = sums / cnt[:, None]
        idx = x.indices.long()
        out_keys = _voxel_keys(idx[:, 0], idx[:, 1:], span)
        pos = torch.searchsorted(uniq, out_keys)
        if not torch.equal(uniq[pos.clamp(max=len(uniq) - 1)], out_keys):
            raise RuntimeError('SpUNetBackbone: deepest voxels do not match the points')
        order = torch.argsort(idx[:, 0], stable=True)
        counts = torch.bincount(idx[:, 0], minlength=len(inputs['offset']))
        return dict(coords=means[pos][order], feats=x.features[order],
                    offset=torch.cumsum(counts, 0))


__all__ = ['SpUNetBackbone', 'SpUNetBasicBlock', 'SpUNetConvBNReLU']
