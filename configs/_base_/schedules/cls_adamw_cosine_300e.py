# TAP's ScanObjectNN schedule: AdamW 5e-4, weight decay 0.05, cosine over 300
# epochs to 1e-6, gradient-norm clip 10, validation every epoch.
# As in the TAP authors' code (openpoints' optimizer factory, filter_bias_and_bn=True),
# 1-d parameters (biases, norm weights, the pad token) get no weight decay.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    clip_grad=dict(max_norm=10.0),
    constructor='FilterDecayOptimWrapperConstructor')
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=300, eta_min=1e-6, by_epoch=True, begin=0, end=300,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
