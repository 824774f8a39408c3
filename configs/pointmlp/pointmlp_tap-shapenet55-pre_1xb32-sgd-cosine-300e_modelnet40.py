# PointMLP on ModelNet40, fine-tuned from TAP: PointMLP's recipe (SGD 0.1, cosine 300 epochs to
# 0.005, batch 32, label smoothing 0.2), 1024 points with xyz + height.
# Validation runs one pass; report with PointMLP's voting: tools/test.py CONFIG CKPT
# --vote 10 (10 passes, softmax averaged, per-axis scales in [0.85, 1.15] that
# compound from pass to pass, as its voting script scales the batch in place).
_base_ = [
    '../_base_/models/cls_pointmlp.py', '../_base_/datasets/modelnet40.py',
    '../_base_/schedules/cls_sgd_cosine_300e.py', '../_base_/default_runtime.py'
]
model = dict(
    head=dict(num_classes=40, loss=dict(smoothing=0.2)),
    backbone=dict(init_cfg=dict(
        type='CheckedPretrained',
        checkpoint='work_dirs/tap_pointmlp_1xb32-cosine-100e_shapenet55/epoch_100.pth',
        prefix='backbone.')),
    test_cfg=dict(voting=1, vote_scale=(0.85, 1.15), vote_cumulative=True))
