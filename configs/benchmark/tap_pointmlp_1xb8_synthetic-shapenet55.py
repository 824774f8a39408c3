# Speed benchmark of TAP pre-training, paper recipe (tools/analysis/benchmark.py):
# PointMLP (xyz + height) + the TAP head as in the paper (depth 6, width 256,
# 8 x 32 heads, 224-pixel views, 6 views per shape), AdamW + grad clip 10,
# batch 8. The data pipeline is the ShapeNet55 one, pointed at tap3d's synthetic
# shapes (python tools/create_data.py synthetic) so it runs without the real set.
_base_ = [
    '../_base_/datasets/synthetic_shapenet55_tap.py',
    '../_base_/models/tap_pointmlp.py',
    '../_base_/schedules/tap_adamw_cosine_100e.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=8)
