# ModelNet40, PointMLP's recipe (the data and pipeline of its classification_ModelNet40
# code): the 2048-point h5 files (modelnet40_ply_hdf5_2048, already in the unit
# sphere; PointMLP does not normalise them), the first 1024 points of each shape,
# random per-axis scale [2/3, 3/2] + shift 0.2 and a shuffle for training, nothing
# at test time. Features are xyz + height so that TAP's 4-channel pre-trained
# PointMLP fits; TAP's ModelNet40 code is not public, so the height follows its
# ScanObjectNN rule (after the scaling; the shift does not change it).
dataset_type = 'ModelNet40Dataset'
data_root = 'data/modelnet40_ply_hdf5_2048'
num_points = 1024

train_pipeline = [
    dict(type='RandomScaleTranslate', scale_range=(2. / 3., 3. / 2.), translate_range=0.2),
    dict(type='ShufflePoints'),
    dict(type='BuildFeat', keys=('coord', 'height')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
]
test_pipeline = [
    dict(type='BuildFeat', keys=('coord', 'height')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, form='h5', split='train',
                 num_points=num_points, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, form='h5', split='test',
                 num_points=num_points, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ClsMetric')
test_evaluator = val_evaluator
