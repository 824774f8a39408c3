"""Data transforms, one family for object and scene pipelines, grouped by what they do.

- :mod:`.keys`: the per-point vocabulary (``coord``, ``normal``, ``color``, ``feat``,
  ``segment``, ...) and :func:`index_points`;
- :mod:`.geometric`: scale, rotate, flip, jitter, normalise, distort;
- :mod:`.color`: chromatic augmentation and colour normalisation;
- :mod:`.sampling`: choose, drop or reorder points;
- :mod:`.views`: photograph scenes for TAP;
- :mod:`.formatting`: the input features and the packing that ends every pipeline.

Importing this package registers every transform.
"""
from .color import ChromaticAutoContrast, ChromaticJitter, ChromaticTranslation, NormalizeColor
from .formatting import DATA_KEYS, AddHeight, BuildFeat, PackPointInputs, SceneFragments
from .geometric import (
                        CenterShift,
                        ElasticDistortion,
                        NormalizePoints,
                        RandomFlip3D,
                        RandomJitter,
                        RandomRotate,
                        RandomScale,
                        RandomScaleTranslate,
                        RandomTilt,
)
from .keys import POINT_KEYS, float_color, get_boxes, index_points
from .sampling import (
                        GridSample,
                        PointSample,
                        RandomCuboidCrop,
                        RandomDropout,
                        ShufflePoints,
                        SphereCrop,
                        farthest_point_sample,
                        voxel_keys,
)
from .views import RenderSceneViews

__all__ = [
    'POINT_KEYS', 'index_points', 'get_boxes', 'float_color', 'NormalizePoints', 'CenterShift',
    'RandomScale', 'RandomScaleTranslate', 'RandomRotate', 'RandomTilt', 'RandomFlip3D',
    'RandomJitter', 'ElasticDistortion', 'ChromaticAutoContrast', 'ChromaticTranslation',
    'ChromaticJitter', 'NormalizeColor', 'farthest_point_sample', 'voxel_keys', 'PointSample',
    'ShufflePoints', 'GridSample', 'SphereCrop', 'RandomDropout', 'RandomCuboidCrop',
    'RenderSceneViews', 'AddHeight', 'BuildFeat', 'PackPointInputs', 'SceneFragments',
    'DATA_KEYS'
]
