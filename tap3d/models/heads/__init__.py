from .seg_head import SegHead
from .detr3d_head import ThreeDETRHead
from .cls_head import ClsHead
from .tap_generator import ViewGenerator
from .tap_head import TAPHead
from .tap_reference import TAPHeadReference
from .partseg_head import PointMLPPartSegHead
__all__ = ['SegHead', 'ThreeDETRHead', 'ClsHead', 'TAPHead', 'TAPHeadReference', 'ViewGenerator', 'PointMLPPartSegHead']
