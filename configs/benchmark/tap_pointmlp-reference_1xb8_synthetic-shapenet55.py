# Reference variant of the TAP benchmark: the authors' compute patterns with the
# authors' sizes. PointMLPReference (Conv1d on (B, C, N), python FPS loop,
# square_distance + topk kNN, (B, S, k, 2C) grouping) and TAPHeadReference
# (32 x 32 heads, memory repeated per view, explicit softmax(QK^T)V).
# Same parameters as tap_pointmlp-authors-heads_1xb8_synthetic-shapenet55.py.
_base_ = ['./tap_pointmlp_1xb8_synthetic-shapenet55.py']

# the reference models live with the benchmark tools, outside the tap3d package
custom_imports = dict(imports=['tools.analysis.reference_models'], allow_failed_imports=False)
model = dict(backbone=dict(type='PointMLPReference'), head=dict(type='TAPHeadReference'))
