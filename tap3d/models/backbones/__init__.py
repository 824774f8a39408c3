from .ptv2 import PointTransformerV2
__all__ = ['PointTransformerV2']
