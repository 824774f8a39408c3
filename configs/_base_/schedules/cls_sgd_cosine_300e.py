# PointMLP's ModelNet40 schedule: SGD 0.1 (momentum 0.9, weight decay 2e-4),
# cosine over 300 epochs to 0.005. Weight decay applies to every parameter, as in
# PointMLP's code (torch.optim.SGD(net.parameters(), ...)).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=2e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=300, eta_min=0.005, by_epoch=True, begin=0, end=300,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
