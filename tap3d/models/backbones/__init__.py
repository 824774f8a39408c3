from .ptv2 import PointTransformerV2
from .detr3d_encoder import ThreeDETREncoder
from .pointnet2 import PointNet2
from .dgcnn import DGCNN
from .point_transformer import StandardPointTransformer
from .pointmlp import PointMLP
from .pointmlp_reference import PointMLPReference
__all__ = ['PointTransformerV2', 'ThreeDETREncoder', 'PointNet2', 'DGCNN', 'StandardPointTransformer', 'PointMLP', 'PointMLPReference']
