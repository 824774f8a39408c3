# ScanObjectNN PB_T50_RS (the hardest variant), TAP's recipe as the authors' code runs
# it: anisotropic scaling in [0.9, 1.1], centre + unit-sphere normalisation, random
# rotation about the up axis (z after the reader), xyz + height as input features.
# The height follows openpoints' PointCloudCenterAndNormalize: the up coordinate minus
# its minimum AFTER the scaling and BEFORE the normalisation, i.e. in the (scaled)
# units of the file; it is stored (AddHeight) and concatenated by BuildFeat.
dataset_type = 'ScanObjectNNDataset'
data_root = 'data/ScanObjectNN'
variant = 'pb_t50_rs'
num_points = 1024

train_pipeline = [
    # the augmentation runs on all 2048 points of the file, as in the authors' code
    dict(type='RandomScale', scale_range=(0.9, 1.1), anisotropic=True),
    dict(type='AddHeight'),
    dict(type='NormalizePoints'),
    dict(type='RandomRotate', axis=2),
    # then their resampling: FPS to 1200 points (from a random start: they shuffle
    # first), then a random 1024 of those
    dict(type='PointSample', num_points=1200, method='fps'),
    dict(type='PointSample', num_points=num_points, method='random'),
    dict(type='BuildFeat', keys=('coord', 'height')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
]
test_pipeline = [
    # the authors' test points: FPS to 1024 from the first point of the file (their
    # pre-computed *_1024_fps file), then height, normalisation; no voting
    dict(type='PointSample', num_points=num_points, method='fps', fps_start=0),
    dict(type='AddHeight'),
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
