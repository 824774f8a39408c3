# CPU-sized TAP pre-training of a small PointMLP on tap3d's synthetic shapes
# (python tools/create_data.py synthetic): the pre-training of the main job
# (tools/run_demo.py), sized so that the generated views follow the objects
# (docs/tap.md, "CPU demo", has the measurements behind every choice):
# - PointMLP with embed 16, one pre/pos block per stage, k = 16 (1024 points,
#   64 centres of width 256): the backbone that the demo fine-tunes;
# - views shrunk 4x: 56 x 56 images framed on a 50-pixel object, downsample 8,
#   so the query grid stays the paper's 7 x 7; the 224-pixel renders are
#   area-resized on the fly (resize_views=True);
# - Photograph module depth 2, width 64 (4 heads x 16), no dropout or drop-path;
# - 6 views per shape: the backbone dominates the step, so more views per shape
#   are cheap supervision;
# - fg/bg weights 1 : 1 (at 20 : 1 a short run leaves the background grey, so every
#   pixel reads as foreground), and the metric's loss uses the same weights, so
#   save_best follows the trained loss;
# - AdamW 5e-3 with a 1-epoch warm-up, cosine over 60 epochs of batch 8 (1500
#   iterations): the silhouettes appear after about 1000 iterations; at 500 the
#   views are no better than the mean view and the fine-tuning from them is worse
#   than from scratch.
_base_ = [
    '../../_base_/datasets/synthetic_shapenet55_tap.py',
    '../../_base_/models/tap_pointmlp.py',
    '../../_base_/schedules/tap_adamw_cosine_100e.py',
    '../../_base_/default_runtime.py',
]

num_views = 6
model = dict(
    resize_views=True,
    backbone=dict(embed_dim=16, pre_blocks=(1, 1, 1, 1), pos_blocks=(1, 1, 1, 1),
                  k_neighbors=(16, 16, 16, 16)),
    head=dict(embed_dims=64, depth=2, num_heads=4, head_dims=16, img_size=56, obj_size=50,
              downsample=8, drop_rate=0.0, drop_path_rate=0.0),
    loss=dict(type='ViewLoss', weight_fg=1.0, weight_bg=1.0))

train_dataloader = dict(batch_size=8, dataset=dict(num_views=num_views))
val_dataloader = dict(batch_size=8, dataset=dict(num_views=num_views))
test_dataloader = val_dataloader
val_evaluator = dict(type='ViewMetric', weight_fg=1.0, weight_bg=1.0)
test_evaluator = val_evaluator

max_epochs = 60
warmup_epochs = 1
optim_wrapper = dict(optimizer=dict(lr=5e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-5, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, save_best='view/loss', rule='less'))
# the grid: 8 test shapes of different categories (the test split is sorted by category)
custom_hooks = [dict(type='ViewVisualizationHook', interval=250, indices=list(range(0, 48, 6)))]
