# The CPU demo's pre-training sized to draw views rather than to be short
# (docs/tap.md, "CPU demo", has the curves): the model of
# tap_pointmlp_synthetic-cpu.py with
# - 6 views per shape: the backbone dominates the step, so more views per shape are
#   cheap supervision;
# - fg/bg weights 1 : 1 (at 20 : 1 a short run leaves the background grey, so every
#   pixel reads as foreground), and the metric's loss uses the same weights, so
#   save_best follows the trained loss;
# - no dropout or drop-path in the Photograph module;
# - AdamW 5e-3 with a 1-epoch warm-up, cosine over 20 epochs (420 iterations);
#   longer runs: --cfg-options max_epochs=N is not enough (the schedule reads it at
#   parse time), pass train_cfg.max_epochs, param_scheduler.1.T_max and
#   param_scheduler.1.end too.
_base_ = ['./tap_pointmlp_synthetic-cpu.py']

num_views = 6
model = dict(
    head=dict(drop_rate=0.0, drop_path_rate=0.0),
    loss=dict(type='ViewLoss', weight_fg=1.0, weight_bg=1.0))
train_dataloader = dict(dataset=dict(num_views=num_views))
val_dataloader = dict(dataset=dict(num_views=num_views))
test_dataloader = val_dataloader
val_evaluator = dict(type='ViewMetric', weight_fg=1.0, weight_bg=1.0)
test_evaluator = val_evaluator

max_epochs = 20
warmup_epochs = 1
optim_wrapper = dict(optimizer=dict(lr=5e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-5, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
