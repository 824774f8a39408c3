# CPU-sized 3DETR-m on tap3d's synthetic ScanNet-layout rooms
# (python tools/create_data.py synthetic): 4000-point scenes, batch 2, and a smaller
# model (512 pre-encoder points, 64 queries, 4 decoder layers). Everything else is
# the ScanNet recipe.
_base_ = [
    '../../_base_/datasets/synthetic_scannet_det.py', '../../_base_/models/3detr-m.py',
    '../../_base_/schedules/3detr_1080e.py', '../../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(num_points=512, num_samples=32),
    head=dict(num_queries=64, num_layers=4))

optim_wrapper = dict(optimizer=dict(lr=1e-3), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=3, eta_min=1e-5, by_epoch=True, begin=1, end=4,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=4, val_interval=4)
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=4, save_best='det/mAP_0.25', rule='greater'))
