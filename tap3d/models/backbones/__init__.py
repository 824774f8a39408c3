from .ptv2 import PointTransformerV2
from .detr3d_encoder import ThreeDETREncoder
__all__ = ['PointTransformerV2', 'ThreeDETREncoder']
