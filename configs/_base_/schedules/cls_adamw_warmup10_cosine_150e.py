# Point-BERT's few-shot schedule: AdamW 5e-4, weight decay 0.05, 10 warm-up
# epochs, cosine to 1e-6 over 150 epochs, gradient-norm clip 10.
# As in Point-BERT's optimizer (tools/builder.py, add_weight_decay): 1-d parameters
# (biases, norm weights) and the class token get no weight decay.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    clip_grad=dict(max_norm=10.0),
    constructor='FilterDecayOptimWrapperConstructor',
    paramwise_cfg=dict(no_decay_names=('token', )))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=140, eta_min=1e-6, by_epoch=True, begin=10,
         end=150, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=150, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
