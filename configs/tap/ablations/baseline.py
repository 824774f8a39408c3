# The reference row of the ablation tables: the full TAP recipe of
# configs/tap/tap_pointmlp_1xb32-cosine-100e_shapenet55.py (same _base_ files,
# same hooks). Every other file in this folder changes one switch of it.
_base_ = [
    '../../_base_/datasets/shapenet55_tap.py',
    '../../_base_/models/tap_pointmlp.py',
    '../../_base_/schedules/tap_adamw_cosine_100e.py',
    '../../_base_/default_runtime.py',
]

# The authors' Photograph-module regularisation: dropout 0.1 only, no drop-path and
# no dropout after the feed-forward output (docs/tap.md, deviations).
model = dict(head=dict(drop_path_rate=0.0, ffn_out_drop=False))

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=10, save_best='view/loss', rule='less'))
custom_hooks = [dict(type='ViewVisualizationHook', interval=2000, num_samples=4)]
