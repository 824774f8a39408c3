# 3DETR-m on ScanNetV2 detection (18 classes), trained from scratch.
# Data and augmentation (3DETR's) come from the ScanNet detection base config.
_base_ = [
    '../_base_/datasets/scannet_det.py', '../_base_/models/3detr-m.py',
    '../_base_/schedules/3detr_1080e.py', '../_base_/default_runtime.py'
]

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, save_best='det/mAP_0.25', rule='greater'))
