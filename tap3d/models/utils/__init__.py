"""Generic layers shared by model components."""
from .attention import Attention, CrossAttentionBlock, SelfAttentionBlock
from .box3d import (axis_aligned_giou_3d, axis_aligned_iou_3d, box3d_corners, box3d_to_minmax,
                    class_aware_nms_3d, nms_3d)
from .build_backbone import build_backbone
from .drop_path import DropPath, drop_path
from .mlp import GEGLU, GEGLUFFN, Mlp
from .padding import offset_to_lengths, offset_to_padded, padded_to_offset

__all__ = [
    'Attention', 'CrossAttentionBlock', 'SelfAttentionBlock', 'build_backbone', 'DropPath',
    'drop_path',
    'GEGLU', 'GEGLUFFN', 'Mlp',
    'offset_to_lengths', 'offset_to_padded',
    'padded_to_offset', 'axis_aligned_iou_3d', 'axis_aligned_giou_3d', 'box3d_corners',
    'box3d_to_minmax', 'nms_3d', 'class_aware_nms_3d'
]
