# tap3d's synthetic ScanNet-like rooms (python tools/create_data.py synthetic) read
# by the real ScanNet segmentation reader, with CPU-sized scenes: a 5 cm grid and at
# most 6000 points per crop. Only the root and the sizes differ from scannet_seg.py.
_base_ = ['./scannet_seg.py']

data_root = 'data/synthetic/scannet'
grid_size = 0.05

train_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='RandomDropout', dropout_ratio=0.2, p=0.2),
    dict(type='RandomRotate', angle_range=(-3.141592653589793, 3.141592653589793), p=0.5),
    dict(type='RandomTilt', max_angle=3.141592653589793 / 64, p=0.5),
    dict(type='RandomScale', scale_range=(0.9, 1.1)),
    dict(type='RandomFlip3D', p=0.5, axes=(0, 1)),
    dict(type='RandomJitter', sigma=0.005, clip=0.02),
    dict(type='ElasticDistortion', distortion_params=((0.2, 0.4), (0.8, 1.6))),
    dict(type='ChromaticAutoContrast', p=0.2, blend_factor=None),
    dict(type='ChromaticTranslation', p=0.95, ratio=0.05),
    dict(type='ChromaticJitter', p=0.95, std=0.05),
    dict(type='GridSample', grid_size=grid_size, mode='train'),
    dict(type='SphereCrop', point_max=6000, mode='random'),
    dict(type='CenterShift', apply_z=False),
    dict(type='NormalizeColor'),
    dict(type='ShufflePoints'),
    dict(type='BuildFeat', keys=('coord', 'color', 'normal')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('segment', )),
]
val_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='GridSample', grid_size=grid_size, mode='train', return_inverse=True),
    dict(type='CenterShift', apply_z=False),
    dict(type='NormalizeColor'),
    dict(type='BuildFeat', keys=('coord', 'color', 'normal')),
    # predictions and labels cover every original point through the inverse map
    dict(type='PackPointInputs', input_keys=('coord', 'feat'),
         data_keys=('origin_segment', 'inverse')),
]
test_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='NormalizeColor'),
    dict(type='GridSample', grid_size=grid_size, mode='test'),
    dict(type='CenterShift', apply_z=False),
    dict(type='BuildFeat', keys=('coord', 'color', 'normal')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('segment', )),
]

train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=val_pipeline))
test_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
