from .three_detr import ThreeDETR

__all__ = ['ThreeDETR']
