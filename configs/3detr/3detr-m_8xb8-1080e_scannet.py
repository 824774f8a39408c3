# 3DETR-m on ScanNetV2 detection (18 classes), trained from scratch.
_base_ = [
    '../_base_/models/3detr-m.py', '../_base_/schedules/3detr_1080e.py',
    '../_base_/default_runtime.py'
]

dataset_type = 'ScanNetDetDataset'
data_root = 'data/scannet'

# 3DETR's augmentation: random cuboid crop (>= 30k points kept), 40k random points,
# flips across x = 0 and y = 0, rotation about z by up to +-5 degrees.
train_pipeline = [
    dict(type='RandomCuboidCrop', min_points=30000),
    dict(type='PointSubsample', num_points=40000),
    dict(type='RandomFlip', p=0.5, axes=(0, 1)),
    dict(type='RandomRotateZ', angle=(-3.141592653589793 / 36, 3.141592653589793 / 36)),
    dict(type='PackSceneInputs', input_keys=('coord', ),
         data_keys=('gt_bboxes_3d', 'gt_labels_3d')),
]
test_pipeline = [
    dict(type='PointSubsample', num_points=40000),
    dict(type='PackSceneInputs', input_keys=('coord', ),
         data_keys=('gt_bboxes_3d', 'gt_labels_3d')),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='DetMetric', iou_thrs=(0.25, 0.5))
test_evaluator = val_evaluator

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, save_best='det/mAP_0.25', rule='greater'))
