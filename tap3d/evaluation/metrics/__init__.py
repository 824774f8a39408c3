from .seg_metric import SegMetric
from .det_metric import DetMetric
from .accuracy import ClsMetric
from .view_metric import ViewMetric
from .partseg_metric import PartSegMetric
__all__ = ['SegMetric', 'DetMetric', 'ClsMetric', 'ViewMetric', 'PartSegMetric']
