# ScanNetV2 detection, 3DETR / VoteNet layout (18 classes, axis-aligned boxes).
# 3DETR's recipe: random cuboid crop keeping >= 30k points (boxes whose centres stay
# inside), 40k random points, flips across x = 0 and y = 0, rotation about z by up
# to +-5 degrees; the model reads xyz only (inputs['coord']); batch 8 per GPU.
# Convert the raw scans with tools/dataset_converters/scannet.py (docs/scannet.md).
dataset_type = 'ScanNetDetDataset'
data_root = 'data/scannet'

train_pipeline = [
    dict(type='RandomCuboidCrop', min_points=30000, aspect=0.75, min_crop=0.75, max_crop=1.0),
    dict(type='PointSample', num_points=40000, method='random'),
    dict(type='RandomFlip3D', p=0.5, axes=(0, 1)),
    dict(type='RandomRotate', angle_range=(-3.141592653589793 / 36, 3.141592653589793 / 36)),
    dict(type='PackPointInputs', input_keys=('coord', ),
         data_keys=('gt_bboxes_3d', 'gt_labels_3d')),
]
test_pipeline = [
    dict(type='PointSample', num_points=40000, method='random'),
    dict(type='PackPointInputs', input_keys=('coord', ),
         data_keys=('gt_bboxes_3d', 'gt_labels_3d')),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='DetMetric', iou_thrs=(0.25, 0.5))
test_evaluator = val_evaluator
