"""Colour transforms (Pointcept's chromatic augmentation and normalisation).

Colours stay in 0..255 through the augmentation; :class:`NormalizeColor` then maps
them to the model's range. Keys: see :mod:`.keys`.
"""
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from tap3d.registry import TRANSFORMS

from .keys import float_color

__all__ = ['ChromaticAutoContrast', 'ChromaticTranslation', 'ChromaticJitter', 'NormalizeColor']


@TRANSFORMS.register_module()
class ChromaticAutoContrast(BaseTransform):
    """Stretch each colour channel to 0..255 and blend with the original.

    Args:
        p: probability of applying.
        blend_factor: weight of the stretched colours; random in [0, 1) if None.
    """

    def __init__(self, p: float = 0.2, blend_factor: Optional[float] = None) -> None:
        self.p, self.blend_factor = p, blend_factor

    def transform(self, results: dict) -> dict:
        color = float_color(results)
        if color is None or np.random.rand() >= self.p:
            return results
        lo, hi = color.min(0, keepdims=True), color.max(0, keepdims=True)
        stretched = (color - lo) * (255.0 / np.maximum(hi - lo, 1e-6))
        blend = np.random.rand() if self.blend_factor is None else self.blend_factor
        results['color'] = ((1 - blend) * color + blend * stretched).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class ChromaticTranslation(BaseTransform):
    """Shift all colours by one random RGB offset in ±ratio·255, then clip to 0..255."""

    def __init__(self, p: float = 0.95, ratio: float = 0.05) -> None:
        self.p, self.ratio = p, ratio

    def transform(self, results: dict) -> dict:
        color = float_color(results)
        if color is None or np.random.rand() >= self.p:
            return results
        shift = (np.random.rand(1, 3) - 0.5) * 2 * 255 * self.ratio
        results['color'] = np.clip(color + shift, 0, 255).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class ChromaticJitter(BaseTransform):
    """Add per-point Gaussian colour noise of std ``std·255``, then clip to 0..255."""

    def __init__(self, p: float = 0.95, std: float = 0.005) -> None:
        self.p, self.std = p, std

    def transform(self, results: dict) -> dict:
        color = float_color(results)
        if color is None or np.random.rand() >= self.p:
            return results
        noise = np.random.randn(*color.shape) * self.std * 255
        results['color'] = np.clip(color + noise, 0, 255).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class NormalizeColor(BaseTransform):
    """``color = (color - mean) / std``.

    The default maps 0..255 to [0, 1] (Pointcept). 3DETR uses
    ``mean=(109.8, 97.2, 83.8), std=256``.
    """

    def __init__(self, mean: Optional[Sequence[float]] = None, std: float = 255.0) -> None:
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = float(std)

    def transform(self, results: dict) -> dict:
        color = float_color(results)
        if color is None:
            return results
        if self.mean is not None:
            color = color - self.mean
        results['color'] = (color / self.std).astype(np.float32)
        return results
