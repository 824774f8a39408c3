# Point Transformer V2 (m2) on ScanNetV2 semantic segmentation, trained from
# scratch with the reference recipe: 12 scenes per step (4 GPUs x 3), AdamW 5e-3,
# a one-cycle-shaped schedule (linear warm-up, cosine decay) over 900 passes.
# Validation predicts the grid-sampled points and scores every original point
# through the inverse map; tools/test.py votes over all grid fragments.
_base_ = [
    '../_base_/models/ptv2m2.py', '../_base_/datasets/scannet_seg.py',
    '../_base_/schedules/ptv2_900e.py', '../_base_/default_runtime.py'
]

default_hooks = dict(checkpoint=dict(interval=10, save_best='mIoU', rule='greater'))
