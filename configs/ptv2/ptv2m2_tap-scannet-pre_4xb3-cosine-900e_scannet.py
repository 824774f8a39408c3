# PTv2 (m2) on ScanNetV2 segmentation, its encoder (patch embedding + encoder
# stages) initialised from scene-level TAP pre-training on ScanNetV2
# (configs/tap/tap_ptv2_4xb3-cosine-100e_scannet.py). The decoder is new, so its
# keys are allowed to be missing; every encoder key must match (tap3d's CheckedPretrained
# initialiser checks shapes and reports what matched). Pass another checkpoint
# with --cfg-options model.backbone.init_cfg.checkpoint=PATH.
_base_ = ['./ptv2m2_4xb3-cosine-900e_scannet.py']

model = dict(
    backbone=dict(init_cfg=dict(
        type='CheckedPretrained',
        checkpoint='work_dirs/tap_ptv2_4xb3-cosine-100e_scannet/epoch_100.pth',
        prefix='backbone.',
        allow_missing=True)))
