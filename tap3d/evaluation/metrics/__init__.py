from .seg_metric import SegMetric
__all__ = ['SegMetric']
