"""The TAP head: Photograph module (pose-conditioned cross-attention) + 2D generator.

See docs/tap.md §5-§9. For each sample and each of its V views, the head
builds one query per cell of an H' x W' grid (H' = img_size / downsample) from the
cell's optical line, lets the queries attend to the backbone's tokens, and decodes
the resulting (C_q, H', W') map into an image with :class:`ViewGenerator`.
"""
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from tap3d.geometry import compute_framing, optical_lines, project_points
from tap3d.ops import offset_to_padded
from tap3d.registry import MODELS

from ..utils import CrossAttentionBlock, Mlp, SelfAttentionBlock
from .tap_generator import ViewGenerator

QUERY_COMPONENT_DIMS = {'origin': 3, 'direction': 3, 'pe': 2}
PHOTOGRAPH_MODES = ('attention', 'projection', 'projection_attention')


@MODELS.register_module()
class TAPHead(BaseModule):
    """Generate V view images of each sample from backbone tokens and view poses.

    Args:
        in_channels (int): backbone feature width C_b.
        embed_dims (int): attention width C_q (paper: 256).
        depth (int): number of attention blocks (paper: 6).
        num_heads (int), head_dims (int): heads and width per head (paper: 8 x 32;
            the authors' code: 32 x 32).
        ffn_ratio (int): GEGLU feed-forward hidden width / C_q.
        drop_rate (float): dropout in attention outputs and feed-forward layers.
        drop_path_rate (float): drop-path on every residual branch.
        ffn_out_drop (bool): dropout also after the feed-forward layer's last
            linear. The TAP authors' blocks have no drop-path and no dropout there
            (``drop_path_rate=0, ffn_out_drop=False``, which the TAP recipe configs
            set); the defaults keep both (docs/tap.md, deviations).
        img_size (int), obj_size (int): image side and object side in pixels (docs/tap.md §5).
        downsample (int): pixels per feature cell (paper: 32 -> 7 x 7 cells).
        photograph (str): ``'attention'`` (TAP), ``'projection'`` (ablation A1:
            scatter tokens into the cells they project to, no attention) or
            ``'projection_attention'`` (A2: A1 then ``depth`` self-attention blocks
            with a pose token appended).
        query_type (str): ``'formula'`` (optical-line queries) or ``'learnable'``
            (ablation E: an MLP from the flattened pose matrix to one query per cell).
        query_components (tuple[str]): subset of ``('origin', 'direction', 'pe')``
            used by formula queries (ablations F1-F4).
        use_pad_token (bool): append one learnable pad token to the memory (and use
            it for empty cells in A1/A2); False is ablation D.
        authors_direction (bool): use the third column of R as the direction, as
            the authors' code does, instead of the optical axis ``R^T e_z``.
        generator_strides (tuple[int], optional): strides of the 4 transposed convs;
            by default derived from ``downsample`` (32 -> 4, 2, 2, 2).
    """

    def __init__(self, in_channels, embed_dims=256, depth=6, num_heads=8, head_dims=32,
                 ffn_ratio=4, drop_rate=0.1, drop_path_rate=0.1, ffn_out_drop=True,
                 img_size=224, obj_size=200, downsample=32, photograph='attention',
                 query_type='formula', query_components=('origin', 'direction', 'pe'),
                 use_pad_token=True, authors_direction=False, generator_strides=None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if photograph not in PHOTOGRAPH_MODES:
            raise ValueError(f'TAPHead: photograph must be one of {PHOTOGRAPH_MODES}, '
                             f'got {photograph!r}')
        if query_type not in ('formula', 'learnable'):
            raise ValueError(f"TAPHead: query_type must be 'formula' or 'learnable', "
                             f'got {query_type!r}')
        unknown = set(query_components) - set(QUERY_COMPONENT_DIMS)
        if unknown or (query_type == 'formula' and not query_components):
            raise ValueError(f'TAPHead: query_components must be a non-empty subset of '
                             f'{tuple(QUERY_COMPONENT_DIMS)}, got {query_components}')
        if img_size % downsample:
            raise ValueError(f'TAPHead: img_size {img_size} is not a multiple of '
                             f'downsample {downsample}')
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.img_size = img_size
        self.obj_size = obj_size
        self.downsample = downsample
        self.grid_hw = (img_size // downsample, img_size // downsample)
        self.photograph = photograph
        self.query_type = query_type
        # keep the canonical order whatever order the config lists them in
        self.query_components = tuple(k for k in QUERY_COMPONENT_DIMS if k in query_components)
        self.use_pad_token = use_pad_token
        self.authors_direction = authors_direction
        num_cells = self.grid_hw[0] * self.grid_hw[1]

        self.memory_mlp = Mlp(in_channels + 3, embed_dims)
        if use_pad_token:
            self.pad_token = nn.Parameter(torch.zeros(embed_dims))
        if photograph == 'attention':
            if query_type == 'formula':
                q_in = sum(QUERY_COMPONENT_DIMS[k] for k in self.query_components)
                self.query_mlp = Mlp(q_in, embed_dims)
            else:
                self.query_mlp = Mlp(9, num_cells * embed_dims, hidden_channels=embed_dims)
            self.blocks = nn.ModuleList([
                CrossAttentionBlock(embed_dims, num_heads, head_dims, ffn_ratio, drop_rate,
                                    drop_path_rate, ffn_out_drop=ffn_out_drop)
                for _ in range(depth)
            ])
        elif photograph == 'projection_attention':
            self.pose_mlp = Mlp(9, embed_dims)
            self.blocks = nn.ModuleList([
                SelfAttentionBlock(embed_dims, num_heads, head_dims, ffn_ratio, drop_rate,
                                   drop_path_rate, ffn_out_drop=ffn_out_drop)
                for _ in range(depth)
            ])
        self.generator = ViewGenerator(embed_dims, 3, downsample, generator_strides)

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def _tokens(backbone_out):
        """Backbone output (padded or offset form) -> coords (B,M,3), feats (B,M,C), mask (B,M)."""
        for key in ('coords', 'feats'):
            if key not in backbone_out:
                raise KeyError(f"TAPHead needs backbone output '{key}'; got keys "
                               f'{list(backbone_out)} (see docs/architecture.md)')
        coords, feats = backbone_out['coords'], backbone_out['feats']
        if 'offset' in backbone_out and coords.dim() == 2:
            coords, feats, mask = offset_to_padded(backbone_out['offset'], coords, feats)
            return coords, feats, mask
        if coords.dim() != 3 or feats.dim() != 3 or coords.shape[:2] != feats.shape[:2]:
            raise ValueError(f'TAPHead: expected coords (B, M, 3) and feats (B, M, C), got '
                             f'{tuple(coords.shape)} and {tuple(feats.shape)}')
        mask = backbone_out.get('mask')
        if mask is None:
            mask = torch.ones(coords.shape[:2], dtype=torch.bool, device=coords.device)
        return coords, feats, mask.bool()

    @staticmethod
    def _points(points, point_mask=None, point_offset=None):
        """Full point set for the framing, padded: (B, N, 3) and mask (B, N) or None."""
        if point_offset is not None:
            points, point_mask = offset_to_padded(point_offset, points)
        if points.dim() != 3 or points.shape[-1] != 3:
            raise ValueError(f'TAPHead: points must be (B, N, 3) or offset form (ΣN, 3) '
                             f'with point_offset; got {tuple(points.shape)}')
        return points, point_mask

    # ----------------------------------------------------------------- pieces
    def framing(self, points, rotations, point_mask=None):
        """Framing map of every view: s (B, V), b (B, V, 2) with q = s * u + b (docs/tap.md §5)."""
        return compute_framing(points, rotations, img_size=self.img_size,
                               obj_size=self.obj_size, mask=point_mask)

    def query_state(self, points, rotations, point_mask=None):
        """The 8-d initial query state of every cell of every view (docs/tap.md §6).

        Args:
            points (Tensor): (B, N, 3) full point set (for the framing).
            rotations (Tensor): (B, V, 3, 3) view rotations R.
            point_mask (Tensor, optional): (B, N) bool, True = valid point.

        Returns:
            dict: ``origin`` (B, V, H', W', 3), ``direction`` (B, V, H', W', 3),
            ``pe`` (B, V, H', W', 2), ``state`` (B, V, H', W', D) with the selected
            components concatenated, and the framing ``s`` (B, V), ``b`` (B, V, 2).
        """
        s, b = self.framing(points, rotations, point_mask)
        origin, direction = optical_lines(rotations, s, b, grid_hw=self.grid_hw,
                                          cell=self.downsample,
                                          authors_direction=self.authors_direction)
        B, V = rotations.shape[:2]
        H, W = self.grid_hw
        direction = direction[:, :, None, None, :].expand(B, V, H, W, 3)
        dev, dt = origin.device, origin.dtype
        rows = torch.arange(H, device=dev, dtype=dt) / max(H - 1, 1)
        cols = torch.arange(W, device=dev, dtype=dt) / max(W - 1, 1)
        pe = torch.stack(torch.meshgrid(rows, cols, indexing='ij'), dim=-1)
        pe = pe.expand(B, V, H, W, 2)
        parts = dict(origin=origin, direction=direction, pe=pe)
        state = torch.cat([parts[k] for k in self.query_components], dim=-1)
        return dict(parts, state=state, s=s, b=b)

    def build_memory(self, coords, feats, mask):
        """Memory tokens ``MLP([F; C])`` (+ pad token): (B, M(+1), C_q), mask (B, M(+1))."""
        memory = self.memory_mlp(torch.cat([feats, coords.to(feats.dtype)], dim=-1))
        if self.use_pad_token:
            B = memory.shape[0]
            memory = torch.cat([memory, self.pad_token.expand(B, 1, -1)], dim=1)
            mask = torch.cat([mask, mask.new_ones(B, 1)], dim=1)
        return memory, mask

    def cell_index(self, coords, rotations, s, b):
        """Feature cell that each token projects into: (B, V, M) long in [0, H'W').

        Args:
            coords (Tensor): (B, M, 3); rotations (B, V, 3, 3); s (B, V); b (B, V, 2).
        """
        pix = project_points(coords, rotations, s, b)  # (B, V, M, 2) as (row, col)
        H, W = self.grid_hw
        cell = torch.floor(pix / self.downsample).long()
        # tokens are inside the framed object, the clamp only guards rounding
        row = cell[..., 0].clamp(0, H - 1)
        col = cell[..., 1].clamp(0, W - 1)
        return row * W + col

    def _empty_token(self, ref):
        if self.use_pad_token:
            return self.pad_token.to(ref.dtype)
        return ref.new_zeros(self.embed_dims)

    def project_memory(self, tokens, mask, cell):
        """Mean of the tokens per cell, the pad token where a cell is empty (A1).

        tokens (B, M, C_q), mask (B, M), cell (B, V, M) -> (B, V, H'W', C_q).
        """
        B, V, M = cell.shape
        C = tokens.shape[-1]
        n_cells = self.grid_hw[0] * self.grid_hw[1]
        # one flat bucket per (sample, view, cell)
        flat = (torch.arange(B * V, device=cell.device).view(B, V, 1) * n_cells + cell)
        valid = mask[:, None, :].expand(B, V, M).reshape(-1)
        flat = flat.reshape(-1)[valid]
        src = tokens[:, None].expand(B, V, M, C).reshape(-1, C)[valid]
        sums = tokens.new_zeros(B * V * n_cells, C).index_add_(0, flat, src)
        counts = tokens.new_zeros(B * V * n_cells).index_add_(
            0, flat, torch.ones_like(flat, dtype=tokens.dtype))
        mean = sums / counts.clamp(min=1).unsqueeze(-1)
        grid = torch.where(counts.unsqueeze(-1) > 0, mean, self._empty_token(tokens))
        return grid.view(B, V, n_cells, C)

    # ---------------------------------------------------------------- forward
    def forward(self, backbone_out, points, rotations, point_mask=None, point_offset=None):
        """Generate the views.

        Args:
            backbone_out (dict): the backbone contract: ``coords`` (B, M, 3), ``feats``
                (B, M, C_b), optional ``mask`` (B, M) bool; or offset form ``coords``
                (ΣM, 3), ``feats`` (ΣM, C_b), ``offset`` (B,).
            points (Tensor): the full point set, (B, N, 3) or (ΣN, 3) with
                ``point_offset``; it fixes the framing of each view.
            rotations (Tensor): (B, V, 3, 3) view rotations.
            point_mask (Tensor, optional): (B, N) bool, True = valid point.
            point_offset (Tensor, optional): (B,) offsets of ``points``.

        Returns:
            Tensor: views (B, V, 3, img_size, img_size) in [0, 1].
        """
        coords, feats, mask = self._tokens(backbone_out)
        points, point_mask = self._points(points, point_mask, point_offset)
        if rotations.dim() != 4 or rotations.shape[-2:] != (3, 3):
            raise ValueError(f'TAPHead: rotations must be (B, V, 3, 3), got '
                             f'{tuple(rotations.shape)}')
        B, V = rotations.shape[:2]
        if coords.shape[0] != B or points.shape[0] != B:
            raise ValueError(f'TAPHead: batch sizes differ: tokens {coords.shape[0]}, points '
                             f'{points.shape[0]}, rotations {B}')
        # the geometry stays in float32 (or better); only MLP inputs follow feats' dtype
        H, W = self.grid_hw
        C = self.embed_dims

        if self.photograph == 'attention':
            memory, memory_mask = self.build_memory(coords, feats, mask)
            if self.query_type == 'formula':
                state = self.query_state(points, rotations, point_mask)['state']
                x = self.query_mlp(state.to(feats.dtype)).reshape(B, V * H * W, C)
            else:
                pose = rotations.reshape(B, V, 9).to(feats.dtype)
                x = self.query_mlp(pose).reshape(B, V * H * W, C)
            # queries (B, V*H'W'): cross-attention to the sample's memory is per query,
            # so the V views share one memory; self-attention stays within each view
            for block in self.blocks:
                x = block(x, memory, memory_mask, self_groups=V)
            x = x.reshape(B * V, H * W, C)
        else:
            tokens = self.memory_mlp(torch.cat([feats, coords.to(feats.dtype)], dim=-1))
            s, b = self.framing(points, rotations, point_mask)
            cell = self.cell_index(coords, rotations, s, b)
            x = self.project_memory(tokens, mask, cell).reshape(B * V, H * W, C)
            if self.photograph == 'projection_attention':
                pose = self.pose_mlp(rotations.reshape(B * V, 1, 9).to(feats.dtype))
                x = torch.cat([x, pose], dim=1)
                for block in self.blocks:
                    x = block(x)
                x = x[:, :H * W]
        fmap = x.transpose(1, 2).reshape(B * V, C, H, W)
        views = self.generator(fmap)
        return views.view(B, V, *views.shape[1:])
