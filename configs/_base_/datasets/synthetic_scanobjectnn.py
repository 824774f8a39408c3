# tap3d's synthetic ScanObjectNN-layout h5 files (python tools/create_data.py
# synthetic): the real recipe with fewer points, small batches, no workers.
_base_ = ['./scanobjectnn_pb_t50_rs.py']
data_root = 'data/synthetic/ScanObjectNN'
num_points = 256
train_pipeline = [
    dict(type='RandomScale', scale_range=(0.9, 1.1), anisotropic=True),
    dict(type='AddHeight'),
    dict(type='NormalizePoints'),
    dict(type='RandomRotate', axis=2),
    dict(type='PointSample', num_points=300, method='fps'),
    dict(type='PointSample', num_points=num_points, method='random'),
    dict(type='BuildFeat', keys=('coord', 'height')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
]
test_pipeline = [
    dict(type='PointSample', num_points=num_points, method='fps', fps_start=0),
    dict(type='AddHeight'),
    dict(type='NormalizePoints'),
    dict(type='BuildFeat', keys=('coord', 'height')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
]
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
