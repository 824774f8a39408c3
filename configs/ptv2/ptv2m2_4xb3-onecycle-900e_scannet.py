# Point Transformer V2 (m2) on ScanNetV2 semantic segmentation, trained from
# scratch with the reference recipe: 12 scenes per step (4 GPUs x 3), AdamW 5e-3,
# one-cycle schedule over 900 passes. Validation scores the grid-sampled points;
# tools/test.py votes over all grid fragments and scores every point of each scene.
_base_ = [
    '../_base_/models/ptv2m2.py', '../_base_/datasets/scannet_seg.py',
    '../_base_/schedules/ptv2_900e.py', '../_base_/default_runtime.py'
]

default_hooks = dict(checkpoint=dict(interval=10, save_best='mIoU', rule='greater'))
