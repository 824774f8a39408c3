# TAP pre-training of the standard point Transformer on ShapeNet55 (paper §4.1):
# AdamW 5e-4, wd 5e-4, 3 warm-up epochs,
# cosine 100 epochs to 1e-6, batch 32, gradient clip 10.
# The photograph module reads the 256 patch tokens (without the class token)
# and their centres. Input features are ignored: the Transformer reads xyz.
_base_ = ['../_base_/datasets/shapenet55_tap.py', '../_base_/default_runtime.py']

model = dict(
    type='TAPPretrainer',
    backbone=dict(
        type='StandardPointTransformer',
        num_groups=256,
        group_size=32,
        grouping='ball',
        radius=0.1,
        drop_path_rate=0.1),
    # the authors' regularisation (docs/tap.md, deviations)
    head=dict(type='TAPHead', in_channels=384, drop_path_rate=0.0, ffn_out_drop=False),
    loss=dict(type='ViewLoss'))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=5e-4),
    clip_grad=dict(max_norm=10.0),
    constructor='FilterDecayOptimWrapperConstructor')  # authors: no decay on 1-d params
# the authors' cfgs/shapenet/transformer_pretrain.yaml: 3 warm-up epochs from 1e-6,
# cosine counted from epoch 0 down to min_lr 1e-6
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 5e-4, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=100, eta_min=1e-6, by_epoch=True, begin=0,
         end=100, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
train_dataloader = dict(batch_size=32)
default_hooks = dict(checkpoint=dict(interval=10))
