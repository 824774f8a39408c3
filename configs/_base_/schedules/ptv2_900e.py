# PTv2's ScanNet schedule: AdamW (lr 5e-3, weight decay 0.02) with a one-cycle
# policy (5% cosine warm-up from lr/10, cosine decay to lr/10/1000) over 900
# passes of the training set; validation every 10 passes.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.005, weight_decay=0.02))

param_scheduler = [
    dict(type='OneCycleLR', eta_max=0.005, pct_start=0.05, anneal_strategy='cos',
         div_factor=10.0, final_div_factor=1000.0, by_epoch=True, begin=0, end=900,
         convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=900, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# total batch of the reference recipe: 12 scenes (4 GPUs x 3)
auto_scale_lr = dict(enable=False, base_batch_size=12)
