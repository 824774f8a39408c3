# ShapeNetPart schedule of the PointMLP / TAP recipe: AdamW lr 1e-3, weight decay
# 1e-4, 300 epochs, lr x0.1 at epochs 210 and 270, gradient norm clipped at 1
# (the TAP authors' setting).
# As in the TAP authors' code (openpoints' optimizer factory, filter_bias_and_bn=True),
# 1-d parameters (biases, norm weights, the pad token) get no weight decay.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=1.0),
    constructor='FilterDecayOptimWrapperConstructor')
param_scheduler = [
    dict(type='MultiStepLR', milestones=[210, 270], gamma=0.1, by_epoch=True, begin=0,
         end=300),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
