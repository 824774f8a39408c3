"""Datasets: importing this package registers every dataset and transform."""
from . import transforms

from .scanobjectnn import ScanObjectNNDataset
from .modelnet40 import ModelNet40Dataset
from .modelnet_fewshot import ModelNetFewShotDataset
from .scannet_det import ScanNetDetDataset
from .scannet_seg import ScanNetSegDataset
__all__ = ['transforms', 'ScanObjectNNDataset', 'ModelNet40Dataset', 'ModelNetFewShotDataset', 'ScanNetDetDataset', 'ScanNetSegDataset']
