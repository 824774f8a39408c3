# TAP pre-training of PointNet++ SSG on ShapeNet55 (paper §4.1):
# AdamW 2e-3, wd 0.05, cosine 100 epochs to 1e-5,
# batch 32, gradient clip 10.
# The last set abstraction keeps 64 centres (ball query r = 0.2, 32 samples)
# instead of grouping all points, as in the authors' pre-training encoder: the
# photograph module then sees 64 local 1024-d features. The weights are the
# same as the classifier's, so the checkpoint loads unchanged.
_base_ = ['../_base_/datasets/shapenet55_tap.py', '../_base_/default_runtime.py']

model = dict(
    type='TAPPretrainer',
    backbone=dict(
        type='PointNet2',
        in_channels=4,
        num_points=(512, 128, 64),
        radii=(0.2, 0.4, 0.2),
        num_samples=(32, 64, 32)),
    # the authors' regularisation (docs/tap.md, deviations)
    head=dict(type='TAPHead', in_channels=1024, drop_path_rate=0.0, ffn_out_drop=False),
    loss=dict(type='ViewLoss'))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10.0),
    constructor='FilterDecayOptimWrapperConstructor')  # authors: no decay on 1-d params
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, eta_min=1e-5, by_epoch=True, begin=0,
         end=100, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
train_dataloader = dict(batch_size=32)
default_hooks = dict(checkpoint=dict(interval=10))
