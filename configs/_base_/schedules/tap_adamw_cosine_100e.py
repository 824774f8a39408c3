# TAP pre-training schedule (paper §4.1): AdamW lr 2e-3, weight decay 0.05,
# cosine over 100 epochs down to 1e-5, gradient-norm clip 10, validation every 10.
# As in the TAP authors' code (openpoints' optimizer factory, filter_bias_and_bn=True),
# 1-d parameters (biases, norm weights, the pad token) get no weight decay.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10.0),
    constructor='FilterDecayOptimWrapperConstructor')
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, eta_min=1e-5, by_epoch=True, begin=0, end=100,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
