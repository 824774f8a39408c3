# CPU-sized TAP pre-training of a small PointMLP on tap3d's synthetic shapes
# (python tools/create_data.py synthetic). Same method and schedule shape as the
# paper recipe, scaled down (see docs/tap.md, "CPU demo"):
# - PointMLP with embed 16, one pre/pos block per stage, k = 16 (1024 points,
#   64 centres of width 256);
# - views shrunk 4x: 56 x 56 images framed on a 50-pixel object, downsample 8,
#   so the query grid stays the paper's 7 x 7; the 224-pixel renders are
#   area-resized on the fly (resize_views=True);
# - Photograph module depth 2, width 64 (4 heads x 16), 3 views per shape;
# - 10 epochs, batch 8.
_base_ = [
    '../../_base_/datasets/synthetic_shapenet55_tap.py',
    '../../_base_/models/tap_pointmlp.py',
    '../../_base_/schedules/tap_adamw_cosine_100e.py',
    '../../_base_/default_runtime.py',
]

num_views = 3
model = dict(
    resize_views=True,
    backbone=dict(embed_dim=16, pre_blocks=(1, 1, 1, 1), pos_blocks=(1, 1, 1, 1),
                  k_neighbors=(16, 16, 16, 16)),
    head=dict(embed_dims=64, depth=2, num_heads=4, head_dims=16, img_size=56, obj_size=50,
              downsample=8))

train_dataloader = dict(batch_size=8, dataset=dict(num_views=num_views))
val_dataloader = dict(batch_size=8, dataset=dict(num_views=num_views))
test_dataloader = val_dataloader

max_epochs = 10
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=5, save_best='view/loss', rule='less'))
custom_hooks = [dict(type='ViewVisualizationHook', interval=100, num_samples=4)]
