# CPU-sized TAP pre-training of PointNet++ SSG on tap3d's synthetic ShapeNet55-layout
# shapes (python tools/create_data.py synthetic): 256/64/32 centres, a 1-block photograph
# module, 2 epochs.
_base_ = ['../../_base_/datasets/synthetic_shapenet55_tap.py', '../../_base_/default_runtime.py']

model = dict(
    type='TAPPretrainer',
    backbone=dict(
        type='PointNet2',
        in_channels=4,
        num_points=(256, 64, 32),
        radii=(0.2, 0.4, 0.4),
        num_samples=(16, 16, 16)),
    head=dict(type='TAPHead', in_channels=1024, depth=1),
    loss=dict(type='ViewLoss'))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10.0),
    constructor='FilterDecayOptimWrapperConstructor')  # authors: no decay on 1-d params
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, eta_min=1e-5, by_epoch=True,
                        begin=0, end=2, convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=2))
