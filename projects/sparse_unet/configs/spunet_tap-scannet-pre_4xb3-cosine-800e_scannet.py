# The sparse-conv U-Net on ScanNetV2 segmentation, its stem and down stages
# initialised from scene-level TAP pre-training
# (projects/sparse_unet/configs/tap_spunet_4xb3-cosine-100e_scannet.py). The up
# stages are new (allowed missing); every encoder key must match.
_base_ = ['./spunet_4xb3-cosine-800e_scannet.py']

model = dict(
    backbone=dict(init_cfg=dict(
        type='CheckedPretrained',
        checkpoint='work_dirs/tap_spunet_4xb3-cosine-100e_scannet/epoch_100.pth',
        prefix='backbone.',
        allow_missing=True)))
