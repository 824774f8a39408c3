# TAP pre-training of DGCNN on ShapeNet55 (paper §4.1):
# AdamW 1e-3, wd 0.05, cosine 100 epochs to 5e-6,
# batch 16, gradient clip 10.
# The centres are the input points themselves (M = N = 1024), each with its
# fused 1024-d feature, as in the authors' pre-training encoder.
_base_ = ['../_base_/datasets/shapenet55_tap.py', '../_base_/default_runtime.py']

model = dict(
    type='TAPPretrainer',
    backbone=dict(type='DGCNN', in_channels=4, k=20, embed_dims=1024),
    # the authors' regularisation (docs/tap.md, deviations)
    head=dict(type='TAPHead', in_channels=1024, drop_path_rate=0.0, ffn_out_drop=False),
    loss=dict(type='ViewLoss'))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10.0),
    constructor='FilterDecayOptimWrapperConstructor')  # authors: no decay on 1-d params
param_scheduler = [
    # the authors' cfgs/shapenet/dgcnn_pretrain.yaml: lr 1e-3, min_lr 5e-6, batch 16
    dict(type='CosineAnnealingLR', T_max=100, eta_min=5e-6, by_epoch=True, begin=0,
         end=100, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
train_dataloader = dict(batch_size=16)
default_hooks = dict(checkpoint=dict(interval=10))
