# Scene-level TAP pre-training schedule for PTv2 (the TAP recipe, docs/tap.md §13):
# AdamW lr 2e-3, weight decay 0.05, 3 warm-up epochs, cosine to 1e-5 at epoch
# 100, gradient-norm clip 10.
# As in the TAP authors' (object-level) code, openpoints' optimizer factory with
# filter_bias_and_bn=True: 1-d parameters (biases, norm weights, the pad token) get no
# weight decay.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10.0),
    constructor='FilterDecayOptimWrapperConstructor')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=97, eta_min=1e-5, by_epoch=True, begin=3, end=100,
         convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict(type='ValLoop')

auto_scale_lr = dict(enable=False, base_batch_size=12)
