# CPU-sized DGCNN on tap3d's synthetic ScanObjectNN (python tools/create_data.py
# synthetic): 256 points, k = 10, 2 epochs.
_base_ = [
    '../../_base_/models/dgcnn.py', '../../_base_/datasets/synthetic_scanobjectnn.py',
    '../../_base_/schedules/cls_adamw_cosine_300e.py', '../../_base_/default_runtime.py'
]
model = dict(backbone=dict(k=10))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, eta_min=1e-5, by_epoch=True,
                        begin=0, end=2, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(logger=dict(interval=5))
