"""Generic layers shared by model components."""
from .attention import Attention, CrossAttentionBlock, SelfAttentionBlock
from .drop_path import DropPath, drop_path
from .mlp import GEGLU, GEGLUFFN, Mlp
from .padding import offset_to_lengths, offset_to_padded, padded_to_offset

__all__ = [
    'Attention', 'CrossAttentionBlock', 'SelfAttentionBlock', 'DropPath', 'drop_path',
    'GEGLU', 'GEGLUFFN', 'Mlp', 'offset_to_lengths', 'offset_to_padded',
    'padded_to_offset'
]
