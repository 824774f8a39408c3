"""Point transforms and packing; importing this package registers them."""
from .formatting import PackPointInputs
from .point_transforms import (PER_POINT_KEYS, AddHeight, BuildFeats, NormalizePoints,
                               PointSample, RandomJitter, RandomRotateUp, RandomScale,
                               RandomScaleTranslate, ShufflePoints, farthest_point_sample,
                               index_per_point)
from .scene_transforms import (BuildSceneFeat, CenterShift, ChromaticAutoContrast,
                               ChromaticJitter, ChromaticTranslation, ElasticDistortion,
                               GridSample, NormalizeColor, PackSceneInputs, PointSubsample,
                               RandomCuboidCrop, RandomDropout, RandomFlip, RandomJitter3D,
                               RandomRotateZ, RandomScale3D, RandomTilt, RenderSceneViews,
                               SceneFragments, ShuffleScenePoints, SphereCrop)

__all__ = [
    'PER_POINT_KEYS', 'index_per_point', 'farthest_point_sample', 'PointSample',
    'ShufflePoints', 'RandomScale', 'RandomScaleTranslate', 'RandomRotateUp',
    'RandomJitter', 'NormalizePoints', 'AddHeight', 'BuildFeats', 'PackPointInputs',
    'GridSample', 'SphereCrop', 'RandomRotateZ', 'RandomScale3D', 'RandomFlip', 'RandomJitter3D',
    'ChromaticAutoContrast', 'ChromaticTranslation', 'ChromaticJitter', 'NormalizeColor',
    'CenterShift', 'RandomCuboidCrop', 'PointSubsample', 'BuildSceneFeat', 'RenderSceneViews',
    'PackSceneInputs', 'SceneFragments', 'RandomTilt', 'RandomDropout', 'ElasticDistortion',
    'ShuffleScenePoints'
]
