# Reference variant of the TAP benchmark: the authors' compute patterns with the
# authors' sizes. PointMLPReference (Conv1d on (B, C, N), python FPS loop,
# square_distance + topk kNN, (B, S, k, 2C) grouping) and TAPHeadReference
# (32 x 32 heads, memory repeated per view, explicit softmax(QK^T)V).
# Same parameters as tap_pointmlp-authors-heads_1xb8_synthetic-shapenet55.py.
_base_ = ['./tap_pointmlp_1xb8_synthetic-shapenet55.py']

model = dict(backbone=dict(type='PointMLPReference'), head=dict(type='TAPHeadReference'))
