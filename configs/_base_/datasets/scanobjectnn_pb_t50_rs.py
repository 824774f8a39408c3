# ScanObjectNN PB_T50_RS (the hardest variant), TAP's recipe: 1024 points,
# anisotropic scaling in [0.9, 1.1], centre + unit-sphere normalisation, random
# rotation about the up axis (z after the reader), xyz + height as input features.
dataset_type = 'ScanObjectNNDataset'
data_root = 'data/ScanObjectNN'
variant = 'pb_t50_rs'
num_points = 1024

train_pipeline = [
    # The TAP authors' resampling: FPS to 1200 of the 2048 points, then a random
    # 1024 of those. Testing takes the first 1024 points, as they do.
    dict(type='PointSample', num_points=1200, method='fps'),
    dict(type='PointSample', num_points=num_points, method='random'),
    dict(type='RandomScale', scale_range=(0.9, 1.1), anisotropic=True),
    dict(type='NormalizePoints'),
    dict(type='RandomRotate', axis=2),
    dict(type='BuildFeat', keys=('coord', 'height')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
]
test_pipeline = [
    dict(type='PointSample', num_points=num_points, method='first'),
    dict(type='NormalizePoints'),
    dict(type='BuildFeat', keys=('coord', 'height')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,  # BatchNorm cannot train on a last batch of one
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, variant=variant, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, variant=variant, split='test',
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ClsMetric')
test_evaluator = val_evaluator
