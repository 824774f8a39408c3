from .set_criterion import HungarianMatcher3D, SetCriterion3D
from .cross_entropy import LabelSmoothingCrossEntropy
__all__ = ['HungarianMatcher3D', 'SetCriterion3D', 'LabelSmoothingCrossEntropy']
