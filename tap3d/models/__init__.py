"""Models: importing this package registers every model component in MODELS."""
from . import (
               backbones,
               classifiers,
               data_preprocessors,
               detectors,
               heads,
               losses,
               pretrainers,
               segmentors,
)

__all__ = [
    'backbones', 'classifiers', 'data_preprocessors', 'detectors', 'heads', 'losses',
    'pretrainers', 'segmentors'
]
