"""PointMLP (Ma et al., ICLR 2022): a residual MLP backbone for point clouds.

Each stage samples centres by furthest point sampling, groups their k nearest
neighbours, normalises each group around its anchor with a learnable affine map,
and runs shared residual MLPs before (per neighbour, then max-pooled) and after
(per centre) the pooling.

Layout matches the reference implementation (ma-xu/pointMLP-pytorch, as used by
TAP) module for module, so its state dicts load with the same keys
(``embedding.net.0.weight``, ``local_grouper_list.0.affine_alpha``,
``pre_blocks_list.0.transfer.net.0.weight``, ...). Differences:

- tensors are channels-last (B, N, C) and the reference's 1x1 ``Conv1d`` layers are
  ``Linear`` layers with the same parameters (weights (out, in) instead of
  (out, in, 1); conv-shaped checkpoints load through :class:`PointwiseLinear`);
  BN statistics are the same. A 1x1 conv is ~100x slower than a matmul on CPU.
- the classifier is not part of the backbone (it lives in the classification head);
- xyz comes from ``inputs['coord']``, features from ``inputs['feat']``;
- grouping uses ``tap3d.ops`` (FPS starting at index 0, exact kNN);
- each stage's first layer is computed per point, not per group member
  (``fuse_grouping``, the same function with fewer FLOPs);
- on CPU in training mode, BN + residual + ReLU and the max over each group run as
  fused C++ kernels (:mod:`tap3d.ops.cpu.bn_act`, :mod:`~tap3d.ops.cpu.group_max`;
  same function, fewer passes over memory).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from tap3d.ops import furthest_point_sample, gather_points, group_points, knn
from tap3d.ops.cpu import batch_norm_act, group_max
from tap3d.registry import MODELS

# Presets of the reference implementation; explicit arguments override them.
ARCH_SETTINGS = {
    'pointmlp': dict(
        embed_dim=64, res_expansion=1.0, dim_expansion=(2, 2, 2, 2),
        pre_blocks=(2, 2, 2, 2), pos_blocks=(2, 2, 2, 2), k_neighbors=(24, 24, 24, 24),
        reducers=(2, 2, 2, 2)),
    'elite': dict(
        embed_dim=32, res_expansion=0.25, dim_expansion=(2, 2, 2, 1),
        pre_blocks=(1, 1, 2, 1), pos_blocks=(1, 1, 2, 1), k_neighbors=(24, 24, 24, 24),
        reducers=(2, 2, 2, 2)),
}


def resolve_arch(arch, owner='PointMLP', **given):
    """The preset ``arch`` with the explicitly ``given`` (non-None) sizes on top.

    Returns:
        dict: embed_dim, res_expansion and the per-stage tuples dim_expansion,
        pre_blocks, pos_blocks, k_neighbors, reducers (all of one length).
    """
    if arch not in ARCH_SETTINGS:
        raise ValueError(f'{owner}: unknown arch {arch!r}, choose from {list(ARCH_SETTINGS)}')
    cfg = dict(ARCH_SETTINGS[arch])
    cfg.update({k: v for k, v in given.items() if v is not None})
    num_stages = len(cfg['pre_blocks'])
    for key in ('dim_expansion', 'pos_blocks', 'k_neighbors', 'reducers'):
        if len(cfg[key]) != num_stages:
            raise ValueError(f'{owner}: {key} has {len(cfg[key])} entries but '
                             f'pre_blocks has {num_stages}')
    return cfg


def _activation(name):
    name = name.lower()
    if name == 'relu':
        return nn.ReLU(inplace=True)
    if name == 'gelu':
        return nn.GELU()
    raise ValueError(f"PointMLP: unknown activation {name!r} (use 'relu' or 'gelu')")


def _flat_index(idx, num_points):
    """Per-sample indices (B, S, k) in [0, N) -> indices into the (B * N) flattened rows."""
    base = torch.arange(idx.shape[0], device=idx.device) * num_points
    return idx + base.view(-1, *([1] * (idx.dim() - 1)))


def _group_rows(x, idx):
    """``group_points`` as one row ``index_select`` on the flattened batch.

    x (B, N, C), idx (B, S, k) -> (B, S, k, C). Copying whole rows (and
    ``index_add`` in the backward) is 1.5-2x faster on CPU than ``gather``
    with an index expanded over the channels.
    """
    B, N, C = x.shape
    return x.reshape(B * N, C).index_select(0, _flat_index(idx, N).reshape(-1)).view(
        *idx.shape, C)


def _gathered_std_on(x):
    """Whether :func:`_group_std` gathers the centred groups: on every device but the CPU.

    On a GPU the per-point sums cost about 80 small kernel launches per stage
    (forward and backward), the gathered groups about 20, and launches, not
    memory traffic, bound these ops there (``benchmark.py --count-ops``).
    """
    return x.device.type != 'cpu'


def _group_std(feats, anchor, nn_idx):
    """Std of every sample's centred groups, without building the groups.

    Equals ``(group_points(feats, nn_idx) - anchor[:, :, None]).reshape(B, -1).std(-1)``
    (unbiased, as ``torch.std``) but reads each point once instead of writing and
    reading the (B, S, k, C) centred groups: with ``cnt_n`` the number of groups
    point n is in and ``G_s`` the sum of group s's features (``embedding_bag``),
    ``sum (f - a)^2 = sum_n cnt_n |f_n|^2 - 2 sum_s a_s . G_s + k sum_s |a_s|^2``.
    The per-sample sums are taken in float64, so the subtraction loses nothing
    that matters (max relative error ~1e-7 against ``torch.std`` here).
    6-12x faster than the centred groups on CPU (forward + backward, B = 8);
    on other devices the centred groups are gathered (:func:`_gathered_std_on`).

    Args:
        feats (Tensor): (B, N, C) point features.
        anchor (Tensor): (B, S, C) the centres' features.
        nn_idx (Tensor): (B, S, k) long, neighbours of each centre in [0, N).

    Returns:
        Tensor: (B,) std in ``feats``' dtype.
    """
    dtype = feats.dtype
    if dtype not in (torch.float32, torch.float64):  # half/bf16 (autocast): sum in float32
        feats, anchor = feats.float(), anchor.float()
    if _gathered_std_on(feats):
        centred = _group_rows(feats, nn_idx) - anchor.unsqueeze(2)  # (B, S, k, C)
        return centred.reshape(feats.shape[0], -1).std(-1).to(dtype)
    B, N, C = feats.shape
    S, k = nn_idx.shape[1:]
    flat = _flat_index(nn_idx, N).reshape(B * S, k)
    group_sum = F.embedding_bag(flat, feats.reshape(B * N, C), mode='sum').view(B, S, C)
    count = torch.bincount(flat.reshape(-1), minlength=B * N).view(B, N).to(feats.dtype)
    n = S * k * C
    total = ((count * feats.sum(-1)).double().sum(-1)
             - k * anchor.sum(-1).double().sum(-1))
    total_sq = ((count * feats.pow(2).sum(-1)).double().sum(-1)
                - 2 * (anchor * group_sum).sum(-1).double().sum(-1)
                + k * anchor.pow(2).sum(-1).double().sum(-1))
    var = (total_sq - total * total / n) / max(n - 1, 1)
    return var.clamp_min(0).sqrt().to(dtype)


class PointwiseLinear(nn.Linear):
    """A 1x1 Conv1d written as a Linear on channels-last input.

    Same parameters as the reference's ``Conv1d(k=1)``; on CPU a matmul is far
    faster than a 1x1 convolution. Checkpoints that store the conv's
    (out, in, 1) weight load unchanged.
    """

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = prefix + 'weight'
        w = state_dict.get(key)
        if w is not None and w.dim() == 3 and w.shape[-1] == 1:
            state_dict[key] = w[..., 0]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class PointwiseBN(nn.BatchNorm1d):
    """BatchNorm1d over the last dim of (..., C): statistics over all other dims,

    exactly what ``BatchNorm1d`` computes on the reference's (B, C, L) layout.
    """

    def forward(self, x):
        if x.dim() == 2:  # rows already: no view, so in-place ops on the output stay cheap
            return super().forward(x)
        shape = x.shape
        return super().forward(x.reshape(-1, shape[-1])).view(shape)


def _linear_bn_act(x, linear, bn, act, residual=None):
    """``act(bn(linear(x)) + residual)`` on the rows of x: (..., C_in) -> (R, C_out).

    R = x.numel() / C_in; residual is (R, C_out). BN + residual + ReLU run fused
    on CPU in training mode (:func:`tap3d.ops.cpu.bn_act.batch_norm_act`).
    The result is a fresh 2-D tensor, not a view: in-place activations and
    residual adds on a view make autograd replay the view in the backward pass
    (a zero fill and three full copies per layer; 1.09x on a stage-1 residual
    block's training step, docs/benchmarks.md).
    """
    return batch_norm_act(linear(x.reshape(-1, x.shape[-1])), bn, residual, act)


class ConvBNReLU1D(nn.Module):
    """Pointwise Linear -> BN -> activation; (..., C_in) -> (..., C_out)."""

    def __init__(self, in_channels, out_channels, bias=False, activation='relu'):
        super().__init__()
        self.net = nn.Sequential(
            PointwiseLinear(in_channels, out_channels, bias=bias), PointwiseBN(out_channels),
            _activation(activation))

    def forward(self, x):
        y = _linear_bn_act(x, *self.net)
        return y.view(*x.shape[:-1], y.shape[-1])


class ConvBNReLURes1D(nn.Module):
    """Residual block ``act(BN(lin(act(BN(lin(x))))) + x)``; (..., C) -> (..., C)."""

    def __init__(self, channels, res_expansion=1.0, bias=False, activation='relu'):
        super().__init__()
        mid = int(channels * res_expansion)
        self.net1 = nn.Sequential(
            PointwiseLinear(channels, mid, bias=bias), PointwiseBN(mid), _activation(activation))
        self.net2 = nn.Sequential(
            PointwiseLinear(mid, channels, bias=bias), PointwiseBN(channels))
        self.act = _activation(activation)

    def forward(self, x):
        hidden = _linear_bn_act(x, *self.net1)
        out = _linear_bn_act(hidden, *self.net2, act=self.act, residual=x.reshape(-1, x.shape[-1]))
        return out.view(x.shape)


class LocalGrouper(nn.Module):
    """FPS centres + kNN groups, normalised around the anchor (the centre's feature).

    ``(x - anchor) / (std + 1e-5)`` where the std is taken over the whole sample
    (all groups, neighbours and channels), then ``alpha * . + beta`` per channel;
    the anchor feature is concatenated to every neighbour.
    """

    def __init__(self, channels, reducer, k, use_xyz=False, normalize='anchor'):
        super().__init__()
        if normalize not in (None, 'anchor', 'center'):
            raise ValueError(f"PointMLP: normalize must be 'anchor', 'center' or None, "
                             f'got {normalize!r}')
        self.reducer = reducer
        self.k = k
        self.use_xyz = use_xyz
        self.normalize = normalize
        if normalize is not None:
            extra = 3 if use_xyz else 0
            self.affine_alpha = nn.Parameter(torch.ones(1, 1, 1, channels + extra))
            self.affine_beta = nn.Parameter(torch.zeros(1, 1, 1, channels + extra))

    @property
    def fusable(self):
        """True when :meth:`forward_fused` applies (anchor normalisation, no xyz)."""
        return self.normalize == 'anchor' and not self.use_xyz

    def sample(self, xyz, feats):
        """FPS centres and their kNN: xyz (B, N, 3), feats (B, N, C) ->
        new_xyz (B, S, 3), anchor feats (B, S, C), nn_idx (B, S, k) long."""
        B, N, _ = xyz.shape
        S = N // self.reducer
        if S < 1 or self.k > N:
            raise ValueError(f'PointMLP: a stage with {N} points cannot take {S} centres '
                             f'with k={self.k} neighbours; use more points or smaller k')
        idx = furthest_point_sample(xyz, S).long()
        new_xyz = gather_points(xyz, idx)
        _, nn_idx = knn(new_xyz, xyz, self.k)
        return new_xyz, gather_points(feats, idx), nn_idx

    def forward_fused(self, xyz, feats, pre):
        """Grouping, normalisation and ``pre``'s first layer without building groups.

        The first layer of :class:`PreExtraction` is linear, and so is the
        normalisation, so ``W [alpha * (g - a) / std + beta ; a]`` equals
        ``(P[idx] - P[a]) / std + W_1 beta + W_2 a`` with ``P = feats (W_1 alpha)^T``
        projected once per POINT (B, N, C_out) instead of once per group member
        (B, S, k, 2C): the (B, S, k, 2C) tensor is never built and the layer's
        FLOPs drop by about ``k * 2C / C`` (48x for k = 24). The sample-wide std
        comes from per-point sums (:func:`_group_std`). Same function as
        ``pre(self.forward(xyz, feats)[1])``, up to float rounding.

        Args:
            xyz (Tensor): (B, N, 3); feats (Tensor): (B, N, C).
            pre (PreExtraction): the stage's pre-extraction block.

        Returns:
            tuple: centres (B, S, 3) and pre-extracted features (B, S, C_out).
        """
        new_xyz, anchor, nn_idx = self.sample(xyz, feats)
        B, C = feats.shape[0], feats.shape[-1]
        inv_std = 1.0 / (_group_std(feats, anchor, nn_idx) + 1e-5)
        lin = pre.transfer.net[0]
        alpha, beta = self.affine_alpha.view(C), self.affine_beta.view(C)
        w1 = lin.weight[:, :C]
        proj = F.linear(feats, w1 * alpha) * inv_std.view(B, 1, 1)  # (B, N, C_out)
        offset = (F.linear(anchor, w1 * alpha) * inv_std.view(B, 1, 1)
                  - F.linear(anchor, lin.weight[:, C:], lin.bias) - F.linear(beta, w1))
        # adding -offset rather than subtracting offset: the backward of a subtraction
        # negates the full (B, S, k, C_out) gradient before reducing it to offset's shape
        y = _group_rows(proj, nn_idx) + offset.neg().unsqueeze(2)  # (B, S, k, C_out)
        # BN and the activation on the 2-D rows, not on a view (see _linear_bn_act)
        bn, act = pre.transfer.net[1], pre.transfer.net[2]
        y = batch_norm_act(y.view(-1, y.shape[-1]), bn, activation=act).view(y.shape)
        return new_xyz, pre.extract(y)

    def forward(self, xyz, feats):
        """xyz (B, N, 3), feats (B, N, C) -> centres (B, S, 3), groups (B, S, k, 2C[+3]).

        S = N // reducer.
        """
        B = xyz.shape[0]
        new_xyz, anchor, nn_idx = self.sample(xyz, feats)
        grouped = group_points(feats, nn_idx)  # (B, S, k, C)
        if self.use_xyz:
            grouped = torch.cat([grouped, group_points(xyz, nn_idx)], dim=-1)
        if self.normalize is not None:
            if self.normalize == 'center':
                mean = grouped.mean(dim=2, keepdim=True)
            else:
                mean = torch.cat([anchor, new_xyz], -1) if self.use_xyz else anchor
                mean = mean.unsqueeze(2)
            centred = grouped - mean
            std = centred.reshape(B, -1).std(dim=-1).view(B, 1, 1, 1)
            grouped = self.affine_alpha * (centred / (std + 1e-5)) + self.affine_beta
        grouped = torch.cat([grouped, anchor.unsqueeze(2).expand(-1, -1, self.k, -1)], dim=-1)
        return new_xyz, grouped


class PreExtraction(nn.Module):
    """Per-neighbour MLPs then max over the group: (B, S, k, D) -> (B, S, C_out)."""

    def __init__(self, channels, out_channels, blocks=1, res_expansion=1.0, bias=False,
                 activation='relu', use_xyz=False):
        super().__init__()
        in_channels = 3 + 2 * channels if use_xyz else 2 * channels
        self.transfer = ConvBNReLU1D(in_channels, out_channels, bias, activation)
        self.operation = nn.Sequential(*[
            ConvBNReLURes1D(out_channels, res_expansion, bias, activation) for _ in range(blocks)
        ])

    def extract(self, x):
        """Residual blocks then max over the group, after the first layer:
        (B, S, k, C_out) -> (B, S, C_out)."""
        return group_max(self.operation(x))

    def forward(self, x):
        return self.extract(self.transfer(x))


class PosExtraction(nn.Module):
    """Per-centre residual MLPs: (B, S, C) -> (B, S, C)."""

    def __init__(self, channels, blocks=1, res_expansion=1.0, bias=False, activation='relu'):
        super().__init__()
        self.operation = nn.Sequential(*[
            ConvBNReLURes1D(channels, res_expansion, bias, activation) for _ in range(blocks)
        ])

    def forward(self, x):
        return self.operation(x)


@MODELS.register_module()
class PointMLP(BaseModule):
    """PointMLP backbone following the tap3d backbone contract.

    Args:
        in_channels (int): width of ``inputs['feat']`` (4 = xyz + height in TAP).
        arch (str): preset, ``'pointmlp'`` (12.57M parameters with 4 input channels)
            or ``'elite'`` (PointMLP-Elite). The remaining size arguments default to
            the preset's value when left as None.
        embed_dim, res_expansion, dim_expansion, pre_blocks, pos_blocks,
        k_neighbors, reducers: the reference implementation's size arguments.
        bias (bool): bias in the 1x1 convs (the reference uses False).
        use_xyz (bool): also group raw xyz (the reference uses False).
        normalize (str): ``'anchor'`` (reference), ``'center'`` or None.
        activation (str): ``'relu'`` (reference) or ``'gelu'``.
        return_stages (bool): also return every level's centres and features in
            ``stage_coords``/``stage_feats`` (level 0 = the input points after the
            embedding, then one entry per stage), e.g. for a segmentation decoder.
        fuse_grouping (bool): compute each stage's first layer per point instead of
            per group member (:meth:`LocalGrouper.forward_fused`; same function,
            fewer FLOPs). False builds the (B, S, k, 2C) groups as the reference
            does; it exists for speed comparisons.
    """

    def __init__(self, in_channels=4, arch='pointmlp', embed_dim=None, res_expansion=None,
                 dim_expansion=None, pre_blocks=None, pos_blocks=None, k_neighbors=None,
                 reducers=None, bias=False, use_xyz=False, normalize='anchor',
                 activation='relu', return_stages=False, fuse_grouping=True, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.fuse_grouping = fuse_grouping
        cfg = resolve_arch(arch, embed_dim=embed_dim, res_expansion=res_expansion,
                           dim_expansion=dim_expansion, pre_blocks=pre_blocks,
                           pos_blocks=pos_blocks, k_neighbors=k_neighbors, reducers=reducers)
        num_stages = len(cfg['pre_blocks'])
        self.in_channels = in_channels
        self.num_stages = num_stages
        self.return_stages = return_stages
        self.embedding = ConvBNReLU1D(in_channels, cfg['embed_dim'], bias, activation)
        self.local_grouper_list = nn.ModuleList()
        self.pre_blocks_list = nn.ModuleList()
        self.pos_blocks_list = nn.ModuleList()
        last = cfg['embed_dim']
        self.stage_channels = [last]
        for i in range(num_stages):
            out = last * cfg['dim_expansion'][i]
            self.local_grouper_list.append(
                LocalGrouper(last, cfg['reducers'][i], cfg['k_neighbors'][i], use_xyz, normalize))
            self.pre_blocks_list.append(
                PreExtraction(last, out, cfg['pre_blocks'][i], cfg['res_expansion'], bias,
                              activation, use_xyz))
            self.pos_blocks_list.append(
                PosExtraction(out, cfg['pos_blocks'][i], cfg['res_expansion'], bias, activation))
            self.stage_channels.append(out)
            last = out
        self.out_channels = last
        self.global_channels = last  # width of global_feat, read by classification heads

    def forward(self, inputs):
        """Encode a batch of point clouds.

        Args:
            inputs (dict): ``points`` (B, N, 3) and ``feats`` (B, N, in_channels);
                without ``feats`` the xyz are used (then in_channels must be 3).

        Returns:
            dict: ``coords`` (B, M, 3) and ``feats`` (B, M, C) of the last stage
            (M = N / prod(reducers), C = out_channels), ``global_feat`` (B, C) (max
            over the M centres), and with ``return_stages`` the lists
            ``stage_coords`` [(B, N_l, 3)] and ``stage_feats`` [(B, N_l, C_l)].
        """
        if 'coord' not in inputs:
            raise KeyError(f"PointMLP needs inputs['coord'] (B, N, 3); got keys {list(inputs)}")
        xyz = inputs['coord']
        feats = inputs.get('feat', xyz)
        if xyz.dim() != 3 or xyz.shape[-1] != 3:
            raise ValueError(f'PointMLP: points must be (B, N, 3), got {tuple(xyz.shape)}')
        if feats.shape[-1] != self.in_channels:
            raise ValueError(f'PointMLP was built with in_channels={self.in_channels} but '
                             f'inputs have {feats.shape[-1]} feature channels')
        x = self.embedding(feats)  # (B, N, C), channels last throughout
        stage_coords, stage_feats = [xyz], [x]
        for grouper, pre, pos in zip(self.local_grouper_list, self.pre_blocks_list,
                                     self.pos_blocks_list):
            if self.fuse_grouping and grouper.fusable:
                xyz, x = grouper.forward_fused(xyz, x, pre)
            else:
                xyz, grouped = grouper(xyz, x)
                x = pre(grouped)
            x = pos(x)
            stage_coords.append(xyz)
            stage_feats.append(x)
        out = dict(coords=xyz, feats=x, global_feat=x.max(dim=1)[0])
        if self.return_stages:
            out['stage_coords'] = stage_coords
            out['stage_feats'] = stage_feats
        return out
