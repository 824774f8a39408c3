# tap3d's synthetic ScanNet-like rooms (python tools/create_data.py synthetic) read
# by the real ScanNet detection reader, with CPU-sized point counts: only the root
# and the sizes differ from scannet_det.py.
_base_ = ['./scannet_det.py']

data_root = 'data/synthetic/scannet'

train_pipeline = [
    dict(type='RandomCuboidCrop', min_points=3000, aspect=0.75, min_crop=0.75, max_crop=1.0),
    dict(type='PointSample', num_points=4000, method='random'),
    dict(type='RandomFlip3D', p=0.5, axes=(0, 1)),
    dict(type='RandomRotate', angle_range=(-3.141592653589793 / 36, 3.141592653589793 / 36)),
    dict(type='PackPointInputs', input_keys=('coord', ),
         data_keys=('gt_bboxes_3d', 'gt_labels_3d')),
]
test_pipeline = [
    dict(type='PointSample', num_points=4000, method='random'),
    dict(type='PackPointInputs', input_keys=('coord', ),
         data_keys=('gt_bboxes_3d', 'gt_labels_3d')),
]

train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
