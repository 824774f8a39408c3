# CPU-sized PointMLP (Elite preset) on tap3d's synthetic ModelNet40: 256 points,
# 2 epochs of the AdamW schedule.
_base_ = [
    '../../_base_/models/cls_pointmlp.py', '../../_base_/datasets/synthetic_modelnet40.py',
    '../../_base_/schedules/cls_adamw_cosine_300e.py', '../../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(arch='elite'),
    head=dict(in_channels=256, num_classes=40, loss=dict(smoothing=0.2)))  # Elite ends at 256
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, eta_min=1e-5, by_epoch=True,
                        begin=0, end=2, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(logger=dict(interval=5))
