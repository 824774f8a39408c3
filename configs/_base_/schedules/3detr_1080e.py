# The 3DETR ScanNet schedule: AdamW 5e-4, weight decay 0.1 (on all parameters),
# gradient-norm clip 0.1, 9 warm-up epochs from 1e-6, then cosine to 1e-6 at 1080.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.1),
    clip_grad=dict(max_norm=0.1, norm_type=2))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 5e-4, end_factor=1.0, by_epoch=True, begin=0,
         end=9, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=1071, eta_min=1e-6, by_epoch=True, begin=9,
         end=1080, convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1080, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# The authors train with a total batch of 8 (one GPU, 8 scenes).
auto_scale_lr = dict(enable=False, base_batch_size=8)
