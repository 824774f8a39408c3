"""Datasets: importing this package registers every dataset and transform."""
from . import transforms

__all__ = ['transforms']
