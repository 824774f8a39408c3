"""Datasets: importing this package registers every dataset and transform."""
from . import transforms

from .scanobjectnn import ScanObjectNNDataset
from .modelnet40 import ModelNet40Dataset
from .modelnet_fewshot import ModelNetFewShotDataset
__all__ = ['transforms', 'ScanObjectNNDataset', 'ModelNet40Dataset', 'ModelNetFewShotDataset']
