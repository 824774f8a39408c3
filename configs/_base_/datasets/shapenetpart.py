# ShapeNetPart (normal benchmark layout), the TAP authors' recipe (openpoints'
# ShapeNetPartNormal and cfgs/shapenetpart): train on trainval, test on test; 2048
# points with normals (xyz + normals = 6 input channels). Training draws 2048 points
# with replacement, scales each axis in [0.8, 1.2] (the normals are left as they are,
# as their PointCloudScaling leaves them), centres into the unit sphere and jitters;
# testing takes 2048 points by FPS from the first point of the file (their
# pre-sampled test set). The category is packed as gt_label.
dataset_type = 'ShapeNetPartDataset'
data_root = 'data/ShapeNetPart/shapenetcore_partanno_segmentation_benchmark_v0_normal'
num_points = 2048

train_pipeline = [
    dict(type='PointSample', num_points=num_points, method='random', replace=True),
    dict(type='RandomScale', scale_range=(0.8, 1.2), anisotropic=True, scale_normal=False),
    dict(type='NormalizePoints'),
    dict(type='RandomJitter', sigma=0.001, clip=0.005),
    dict(type='BuildFeat', keys=('coord', 'normal')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'),
         data_keys=dict(gt_label='gt_label', segment='gt_part_labels')),
]
test_pipeline = [
    dict(type='PointSample', num_points=num_points, method='fps', fps_start=0),
    dict(type='NormalizePoints'),
    dict(type='BuildFeat', keys=('coord', 'normal')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'),
         data_keys=dict(gt_label='gt_label', segment='gt_part_labels')),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,  # BatchNorm over the per-shape category token needs 2+ shapes
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='trainval',
                 num_points=None, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 num_points=None, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='PartSegMetric')
test_evaluator = val_evaluator
