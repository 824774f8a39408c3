"""Datasets: importing this package registers every dataset and transform."""
from . import transforms
from .modelnet40 import ModelNet40Dataset
from .modelnet_fewshot import ModelNetFewShotDataset
from .scannet_det import ScanNetDetDataset
from .scannet_seg import ScanNetSegDataset
from .scanobjectnn import ScanObjectNNDataset
from .shapenet55 import ShapeNet55Dataset, check_shapenet55_root
from .shapenet_part import ShapeNetPartDataset

__all__ = [
    'transforms', 'ShapeNet55Dataset', 'check_shapenet55_root', 'ScanObjectNNDataset',
    'ModelNet40Dataset', 'ModelNetFewShotDataset', 'ScanNetDetDataset', 'ScanNetSegDataset',
    'ShapeNetPartDataset'
]
