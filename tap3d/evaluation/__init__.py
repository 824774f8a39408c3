"""Evaluation: importing this package registers every metric in METRICS."""
from . import metrics

__all__ = ['metrics']
