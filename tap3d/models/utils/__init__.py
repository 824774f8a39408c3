"""Generic layers shared by model components."""
from .attention import Attention, CrossAttentionBlock, SelfAttentionBlock
from .build_backbone import build_backbone
from .drop_path import DropPath, drop_path
from .mlp import GEGLU, GEGLUFFN, Mlp

__all__ = [
    'Attention', 'CrossAttentionBlock', 'SelfAttentionBlock', 'build_backbone', 'DropPath',
    'drop_path', 'GEGLU', 'GEGLUFFN', 'Mlp'
]
