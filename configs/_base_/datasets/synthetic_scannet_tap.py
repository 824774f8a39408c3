# Scene-level TAP pre-training data on tap3d's synthetic ScanNet-like rooms
# (python tools/create_data.py synthetic), CPU-sized: a 5 cm grid, at most 4000
# points and 2 views per scene. The views are photographs of the cropped, augmented
# scene, framed by the same centred coord that the model receives.
_base_ = ['./scannet_seg_tap.py']

data_root = 'data/synthetic/scannet'
grid_size = 0.05
num_views = 2

train_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='RandomDropout', dropout_ratio=0.2, p=0.2),
    dict(type='RandomRotate', angle_range=(-3.141592653589793, 3.141592653589793), p=0.5),
    dict(type='RandomTilt', max_angle=3.141592653589793 / 64, p=0.5),
    dict(type='RandomScale', scale_range=(0.9, 1.1)),
    dict(type='RandomFlip3D', p=0.5, axes=(0, 1)),
    dict(type='RandomJitter', sigma=0.005, clip=0.02),
    dict(type='ElasticDistortion', distortion_params=((0.2, 0.4), (0.8, 1.6))),
    dict(type='GridSample', grid_size=grid_size, mode='train'),
    dict(type='SphereCrop', point_max=4000, mode='random'),
    dict(type='CenterShift', apply_z=False),
    dict(type='RenderSceneViews', num_views=num_views, img_size=224, obj_size=200,
         point_radius_px=2),
    dict(type='NormalizeColor'),
    dict(type='ShufflePoints'),
    dict(type='BuildFeat', keys=('coord', 'color', 'normal')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat', 'views', 'view_rotations'),
         data_keys=()),
]
val_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='GridSample', grid_size=grid_size, mode='train'),
    dict(type='SphereCrop', point_max=4000, mode='center'),
    dict(type='CenterShift', apply_z=False),
    dict(type='RenderSceneViews', num_views=num_views, img_size=224, obj_size=200,
         point_radius_px=2),
    dict(type='NormalizeColor'),
    dict(type='BuildFeat', keys=('coord', 'color', 'normal')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat', 'views', 'view_rotations'),
         data_keys=()),
]

train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=val_pipeline))
