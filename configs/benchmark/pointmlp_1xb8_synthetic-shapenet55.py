# Speed benchmark of the PointMLP backbone alone (12.57M parameters, 1024 points,
# xyz + height), batch 8: tools/analysis/benchmark.py trains it on the mean
# square of its output features, with the TAP schedule's AdamW.
_base_ = [
    '../_base_/datasets/synthetic_shapenet55_tap.py',
    '../_base_/schedules/tap_adamw_cosine_100e.py',
]

model = dict(type='PointMLP', in_channels=4)
train_dataloader = dict(batch_size=8)
