from .cross_entropy import LabelSmoothingCrossEntropy
from .perceptual_loss import PerceptualLoss
from .poly_focal_loss import Poly1FocalLoss
from .set_criterion import HungarianMatcher3D, SetCriterion3D
from .view_loss import ViewLoss, foreground_mask, view_loss

__all__ = [
    'HungarianMatcher3D', 'SetCriterion3D', 'LabelSmoothingCrossEntropy', 'PerceptualLoss',
    'Poly1FocalLoss', 'ViewLoss', 'foreground_mask', 'view_loss'
]
