# CPU-sized TAP pre-training of the 3DETR-m encoder on tap3d's synthetic
# ShapeNet55-layout shapes (python tools/create_data.py synthetic): 128
# pre-encoder centres and a one-block TAP head.
_base_ = [
    '../../_base_/datasets/synthetic_shapenet55_tap.py', '../../_base_/models/3detr-m_tap.py',
    '../../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(num_points=128, num_samples=16, interim_num_samples=16),
    head=dict(depth=1))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=5e-4),
    clip_grad=dict(max_norm=10.0),
    constructor='FilterDecayOptimWrapperConstructor')  # authors: no decay on 1-d params
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, eta_min=1e-5, by_epoch=True,
                        begin=0, end=2, convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=2))
