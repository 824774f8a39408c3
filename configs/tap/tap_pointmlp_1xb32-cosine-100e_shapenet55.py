# TAP pre-training of PointMLP on ShapeNet55 (paper §4.1 / docs/tap.md §13):
# 1024 points (xyz + height), random scaling, 6 of the 12 views per shape,
# 224 x 224 views (object 200 px, 7 x 7 query cells), AdamW 2e-3, wd 0.05,
# cosine 100 epochs to 1e-5, batch 32, grad clip 10. The paper's batch of 32 is
# the total batch (batch_size 32 comes from the dataset base); with several GPUs,
# divide batch_size or scale the lr.
# Only model.backbone is kept for fine-tuning (prefix 'backbone.').
_base_ = [
    '../_base_/datasets/shapenet55_tap.py',
    '../_base_/models/tap_pointmlp.py',
    '../_base_/schedules/tap_adamw_cosine_100e.py',
    '../_base_/default_runtime.py',
]

# The authors' Photograph-module regularisation: dropout 0.1 only, no drop-path and
# no dropout after the feed-forward output (docs/tap.md, deviations).
model = dict(head=dict(drop_path_rate=0.0, ffn_out_drop=False))

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=10, save_best='view/loss', rule='less'))
custom_hooks = [dict(type='ViewVisualizationHook', interval=2000, num_samples=4)]
