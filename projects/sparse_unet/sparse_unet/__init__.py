"""Sparse-convolution U-Net project: importing it registers ``SpUNetBackbone``.

Configs load it with
``custom_imports=dict(imports=['projects.sparse_unet.sparse_unet'], allow_failed_imports=False)``.
spconv itself is imported only when a model is built.
"""
from .backbone import SpUNetBackbone, SpUNetBasicBlock, SpUNetConvBNReLU

__all__ = ['SpUNetBackbone', 'SpUNetBasicBlock', 'SpUNetConvBNReLU']
