# TAP pre-training of the 3DETR-m encoder on ShapeNet55 objects; the weights then
# initialise configs/3detr/3detr-m_tap-shapenet55-pre_1xb8-1080e_scannet.py. The
# object-scale sampling settings are explained in _base_/models/3detr-m_tap.py.
_base_ = [
    '../_base_/datasets/shapenet55_tap.py', '../_base_/models/3detr-m_tap.py',
    '../_base_/default_runtime.py'
]

# TAP's Transformer recipe (docs/tap.md §13): AdamW 5e-4, wd 5e-4, 3 warm-up epochs,
# cosine over 100 epochs to 1e-5, batch 32, gradient clip 10.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=5e-4),
    clip_grad=dict(max_norm=10.0),
    constructor='FilterDecayOptimWrapperConstructor')  # authors: no decay on 1-d params
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=97, eta_min=1e-5, by_epoch=True, begin=3, end=100,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
train_dataloader = dict(batch_size=32)
default_hooks = dict(checkpoint=dict(interval=10))
