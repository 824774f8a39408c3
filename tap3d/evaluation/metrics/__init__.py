from .accuracy import ClsMetric
from .det_metric import DetMetric
from .partseg_metric import PartSegMetric
from .seg_metric import SegMetric
from .view_metric import ViewMetric

__all__ = ['SegMetric', 'DetMetric', 'ClsMetric', 'ViewMetric', 'PartSegMetric']
