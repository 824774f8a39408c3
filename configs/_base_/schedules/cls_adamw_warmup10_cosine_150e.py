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
# As Point-BERT's (timm's) cosine scheduler: the linear warm-up starts from an lr of
# 1e-6 and the cosine is counted from epoch 0, not restarted after the warm-up; the
# two overlap, so after the warm-up the lr is Point-BERT's curve (to 1e-4). tap3d steps
# it per iteration, Point-BERT per epoch (docs/tap.md, deviations).
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 5e-4, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=150, eta_min=1e-6, by_epoch=True, begin=0,
         end=150, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=150, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
