"""The reference variants that the speed benchmarks compare tap3d against.

They repeat the authors' compute patterns (PointMLP's Conv1d on (B, C, N), python
FPS loop and square_distance + topk kNN; TAP's head with unfused attention and torch's
dropout) with exactly tap3d's parameters, so a benchmark times the same function
two ways. They are not part of the tap3d package: the benchmark configs import them
with ``custom_imports = dict(imports=['tools.analysis.reference_models'])``, which
registers ``PointMLPReference`` and ``TAPHeadReference`` in tap3d's model registry.
"""
from .pointmlp import PointMLPReference
from .tap_head import TAPHeadReference

__all__ = ['PointMLPReference', 'TAPHeadReference']
