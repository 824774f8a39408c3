from .seg_metric import SegMetric
from .det_metric import DetMetric
__all__ = ['SegMetric', 'DetMetric']
