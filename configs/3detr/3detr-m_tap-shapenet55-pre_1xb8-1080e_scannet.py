# 3DETR-m on ScanNetV2 with its encoder (pre-encoder + transformer encoder)
# initialised from TAP pre-training on ShapeNet55
# (configs/tap/tap_3detr-m_1xb32-cosine-100e_shapenet55.py). Every encoder key must
# match the checkpoint: tap3d's CheckedPretrained initialiser raises otherwise. Pass the
# checkpoint with --cfg-options model.backbone.init_cfg.checkpoint=PATH.
_base_ = ['./3detr-m_1xb8-1080e_scannet.py']

model = dict(
    backbone=dict(init_cfg=dict(
        type='CheckedPretrained',
        checkpoint='work_dirs/tap_3detr-m_1xb32-cosine-100e_shapenet55/epoch_100.pth',
        prefix='backbone.')))
