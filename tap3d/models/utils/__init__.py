"""Generic layers shared by model components."""
from .attention import Attention, CrossAttentionBlock, SelfAttentionBlock
from .bn_act import batch_norm_act
from .box3d import (axis_aligned_giou_3d, axis_aligned_iou_3d, box3d_corners, box3d_to_minmax,
                    class_aware_nms_3d, nms_3d)
from .drop_path import DropPath, drop_path
from .dropout import Dropout, use_torch_dropout
from .group_max import group_max
from .mlp import GEGLU, GEGLUFFN, Mlp
from .padding import offset_to_lengths, offset_to_padded, padded_to_offset

__all__ = [
    'Attention', 'CrossAttentionBlock', 'SelfAttentionBlock', 'DropPath', 'drop_path',
    'Dropout', 'use_torch_dropout', 'batch_norm_act', 'group_max', 'GEGLU', 'GEGLUFFN', 'Mlp',
    'offset_to_lengths', 'offset_to_padded',
    'padded_to_offset', 'axis_aligned_iou_3d', 'axis_aligned_giou_3d', 'box3d_corners',
    'box3d_to_minmax', 'nms_3d', 'class_aware_nms_3d'
]
