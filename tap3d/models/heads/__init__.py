from .seg_head import SegHead
from .detr3d_head import ThreeDETRHead
__all__ = ['SegHead', 'ThreeDETRHead']
