from .seg_metric import SegMetric
from .det_metric import DetMetric
from .accuracy import ClsMetric
__all__ = ['SegMetric', 'DetMetric', 'ClsMetric']
