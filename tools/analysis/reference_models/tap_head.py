"""The TAP head computed the way the authors' code does: the reference variant.

:class:`TAPHeadReference` has exactly the parameters of :class:`TAPHead` (so the
same state dict loads into both), with the authors' sizes as defaults: 32 heads
of width 32 (18,649,172 parameters in the photograph module for a 1024-wide
backbone, 912,451 in the generator) and the direction taken from the third
column of R. What differs is how it computes:

- every view gets its own copy of the sample's memory (``repeat``, (B*V, M+1, C)),
  so keys and values are projected V times;
- attention is written out, ``softmax(Q K^T / sqrt(d)) V`` with the full
  (B*V, heads, L, S) score tensor, instead of a fused kernel;
- dropout is torch's (one Bernoulli draw per element), not the cheaper CPU
  mask of :mod:`tap3d.ops.cpu.dropout`.

It is the "before" of the speed comparisons in docs/benchmarks.md; the
equivalence of the two heads is tested in
``tests/test_analysis/test_reference_equivalence.py``. Use :class:`TAPHead` to train.
"""
import torch

from tap3d.models.heads.tap_head import TAPHead
from tap3d.ops.cpu import use_torch_dropout
from tap3d.registry import MODELS


def unfused_attention(attn, x, context=None, key_mask=None):
    """Explicit ``softmax(QK^T/sqrt(d)) V`` with the weights of an ``Attention`` module.

    Args:
        attn (Attention): supplies ``to_q``, ``to_k``, ``to_v``, ``to_out``, heads.
        x (Tensor): queries (B, L, C).
        context (Tensor, optional): keys/values (B, S, C_ctx); ``x`` when None.
        key_mask (Tensor, optional): (B, S) bool, True = valid key.

    Returns:
        Tensor: (B, L, C).
    """
    context = x if context is None else context
    B, L, _ = x.shape
    S = context.shape[1]
    h, d = attn.num_heads, attn.head_dim
    q = attn.to_q(x).view(B, L, h, d).permute(0, 2, 1, 3).reshape(B * h, L, d)
    k = attn.to_k(context).view(B, S, h, d).permute(0, 2, 1, 3).reshape(B * h, S, d)
    v = attn.to_v(context).view(B, S, h, d).permute(0, 2, 1, 3).reshape(B * h, S, d)
    sim = torch.einsum('bid,bjd->bij', q, k) * d**-0.5
    if key_mask is not None:
        bad = ~key_mask.bool()[:, None, None, :].expand(B, h, 1, S).reshape(B * h, 1, S)
        sim = sim.masked_fill(bad, -torch.finfo(sim.dtype).max)
    out = torch.einsum('bij,bjd->bid', sim.softmax(dim=-1), v)
    out = out.view(B, h, L, d).permute(0, 2, 1, 3).reshape(B, L, h * d)
    return attn.to_out(out)


@MODELS.register_module()
class TAPHeadReference(TAPHead):
    """:class:`TAPHead` with the authors' defaults and compute pattern (see module doc).

    Only ``photograph='attention'`` with formula or learnable queries is
    provided; the arguments are those of :class:`TAPHead`.
    """

    def __init__(self, in_channels, num_heads=32, head_dims=32, authors_direction=True,
                 photograph='attention', **kwargs):
        if photograph != 'attention':
            raise ValueError(f"TAPHeadReference only implements photograph='attention', "
                             f'got {photograph!r}')
        super().__init__(in_channels, num_heads=num_heads, head_dims=head_dims,
                         authors_direction=authors_direction, photograph=photograph, **kwargs)
        use_torch_dropout(self)

    def forward(self, backbone_out, points, rotations, point_mask=None, point_offset=None):
        """Same inputs and output as :meth:`TAPHead.forward`: views (B, V, 3, H, W)."""
        coords, feats, mask = self._tokens(backbone_out)
        points, point_mask = self._points(points, point_mask, point_offset)
        B, V = rotations.shape[:2]
        rotations = rotations.to(feats.dtype)
        H, W = self.grid_hw
        C = self.embed_dims
        memory, memory_mask = self.build_memory(coords, feats, mask)
        # one copy of the memory per view
        memory = memory.repeat_interleave(V, dim=0)
        memory_mask = memory_mask.repeat_interleave(V, dim=0)
        if self.query_type == 'formula':
            state = self.query_state(points, rotations, point_mask)['state']
            x = self.query_mlp(state.to(feats.dtype)).reshape(B * V, H * W, C)
        else:
            x = self.query_mlp(rotations.reshape(B, V, 9)).reshape(B * V, H * W, C)
        for blk in self.blocks:
            x = x + blk.drop_path(unfused_attention(blk.self_attn, blk.norm1(x)))
            x = x + blk.drop_path(
                unfused_attention(blk.cross_attn, blk.norm2(x), memory, memory_mask))
            x = x + blk.drop_path(blk.ffn(blk.norm3(x)))
        fmap = x.transpose(1, 2).reshape(B * V, C, H, W)
        views = self.generator(fmap)
        return views.view(B, V, *views.shape[1:])
