"""Multi-head attention and pre-norm transformer blocks.

Attention runs through ``torch.nn.functional.scaled_dot_product_attention`` so
that fused kernels are used where the device has them.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from tap3d.ops.cpu import Dropout

from .drop_path import DropPath
from .mlp import GEGLUFFN


class Attention(nn.Module):
    """Multi-head (self- or cross-) attention with an optional key-padding mask.

    Args:
        dim (int): query width C.
        num_heads (int): number of heads.
        head_dim (int): width of one head; the inner width is ``num_heads * head_dim``.
        context_dim (int, optional): key/value input width; defaults to ``dim``.
        drop (float): dropout on the output projection.
    """

    def __init__(self, dim, num_heads=8, head_dim=32, context_dim=None, drop=0.0):
        super().__init__()
        inner = num_heads * head_dim
        context_dim = context_dim or dim
        self.num_heads = num_heads
        self.head_dim = head_dim
        # no bias on q/k/v, as in the latent-diffusion style blocks TAP builds on
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(context_dim, inner, bias=False)
        self.to_v = nn.Linear(context_dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), Dropout(drop))

    def forward(self, x, context=None, key_mask=None):
        """Attend from ``x`` to ``context`` (``x`` itself when None).

        Args:
            x (Tensor): queries (B, L, C).
            context (Tensor, optional): keys/values (B, S, C_ctx).
            key_mask (Tensor, optional): (B, S) bool, True = valid key.

        Returns:
            Tensor: (B, L, C).
        """
        context = x if context is None else context
        B, L, _ = x.shape
        S = context.shape[1]
        h, d = self.num_heads, self.head_dim
        q = self.to_q(x).view(B, L, h, d).transpose(1, 2)
        k = self.to_k(context).view(B, S, h, d).transpose(1, 2)
        v = self.to_v(context).view(B, S, h, d).transpose(1, 2)
        attn_mask = None
        if key_mask is not None:
            if key_mask.shape != (B, S):
                raise ValueError(
                    f'key_mask must have shape {(B, S)}, got {tuple(key_mask.shape)}')
            attn_mask = key_mask[:, None, None, :].to(torch.bool)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        out = out.transpose(1, 2).reshape(B, L, h * d)
        return self.to_out(out)


class CrossAttentionBlock(nn.Module):
    """Pre-norm block: self-attention, cross-attention, GEGLU feed-forward.

    ``x += SA(LN x)``; ``x += CA(LN x, memory)``; ``x += FFN(LN x)``, each residual
    branch with drop-path. ``drop`` is the dropout of the attention outputs and of
    the feed-forward layer (:class:`GEGLUFFN`; ``ffn_out_drop`` also after its last
    linear).

    Self-attention may need a different grouping of the tokens than cross-attention
    (TAP: self-attention within one view, cross-attention against the sample's
    memory shared by all its views), so ``forward`` takes ``self_groups``: the
    (B, L, C) queries are viewed as (B * self_groups, L / self_groups, C) for the
    self-attention only.
    """

    def __init__(self, dim, num_heads=8, head_dim=32, ffn_ratio=4, drop=0.0,
                 drop_path=0.0, context_dim=None, ffn_out_drop=True):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.self_attn = Attention(dim, num_heads, head_dim, drop=drop)
        self.norm2 = nn.LayerNorm(dim)
        self.cross_attn = Attention(dim, num_heads, head_dim, context_dim, drop=drop)
        self.norm3 = nn.LayerNorm(dim)
        self.ffn = GEGLUFFN(dim, ffn_ratio, drop, out_drop=ffn_out_drop)
        self.drop_path = DropPath(drop_path)

    def forward(self, x, memory, memory_mask=None, self_groups=1):
        """x (B, L, C), memory (B, S, C_ctx), memory_mask (B, S) bool -> (B, L, C)."""
        B, L, C = x.shape
        if L % self_groups:
            raise ValueError(f'{L} queries cannot be split into {self_groups} groups')
        xs = self.norm1(x).reshape(B * self_groups, L // self_groups, C)
        x = x + self.drop_path(self.self_attn(xs).reshape(B, L, C))
        x = x + self.drop_path(self.cross_attn(self.norm2(x), memory, memory_mask))
        x = x + self.drop_path(self.ffn(self.norm3(x)))
        return x


class SelfAttentionBlock(nn.Module):
    """Pre-norm block: self-attention then GEGLU feed-forward; (B, L, C) -> (B, L, C)."""

    def __init__(self, dim, num_heads=8, head_dim=32, ffn_ratio=4, drop=0.0, drop_path=0.0,
                 ffn_out_drop=True):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, head_dim, drop=drop)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = GEGLUFFN(dim, ffn_ratio, drop, out_drop=ffn_out_drop)
        self.drop_path = DropPath(drop_path)

    def forward(self, x, key_mask=None):
        x = x + self.drop_path(self.attn(self.norm1(x), key_mask=key_mask))
        x = x + self.drop_path(self.ffn(self.norm2(x)))
        return x
