from .cls_head import ClsHead
from .partseg_head import PointMLPPartSegHead
from .seg_head import SegHead
from .tap_generator import ViewGenerator
from .tap_head import TAPHead
from .three_detr_head import ThreeDETRHead

__all__ = ['SegHead', 'ThreeDETRHead', 'ClsHead', 'TAPHead', 'ViewGenerator', 'PointMLPPartSegHead']
