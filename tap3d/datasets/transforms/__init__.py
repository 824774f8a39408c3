"""Point transforms and packing; importing this package registers them."""
from .formatting import PackPointInputs
from .point_transforms import (PER_POINT_KEYS, AddHeight, BuildFeats, NormalizePoints,
                               PointSample, RandomJitter, RandomRotateUp, RandomScale,
                               RandomScaleTranslate, ShufflePoints, farthest_point_sample,
                               index_per_point)

__all__ = [
    'PER_POINT_KEYS', 'index_per_point', 'farthest_point_sample', 'PointSample',
    'ShufflePoints', 'RandomScale', 'RandomScaleTranslate', 'RandomRotateUp',
    'RandomJitter', 'NormalizePoints', 'AddHeight', 'BuildFeats', 'PackPointInputs'
]
