from .dgcnn import DGCNN
from .pointmlp import PointMLP
from .pointnet2 import PointNet2
from .ptv2 import PointTransformerV2
from .standard_transformer import StandardPointTransformer
from .three_detr_encoder import ThreeDETREncoder

__all__ = [
    'PointTransformerV2', 'ThreeDETREncoder', 'PointNet2', 'DGCNN', 'StandardPointTransformer',
    'PointMLP'
]
