from .seg_head import SegHead
from .detr3d_head import ThreeDETRHead
from .cls_head import ClsHead
__all__ = ['SegHead', 'ThreeDETRHead', 'ClsHead']
