# Scene-level TAP pre-training data on ScanNetV2 (Pointcept layout): the PTv2
# segmentation augmentation, then photographs of the cropped, augmented scene.
# RenderSceneViews runs after the last CenterShift, so the views circle the scene's
# centre and are framed by exactly the coord the model receives; it reads colours
# in 0..255, so NormalizeColor comes after it. Labels are not used.
dataset_type = 'ScanNetSegDataset'
data_root = 'data/scannet'
num_views = 6

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
    dict(type='GridSample', grid_size=0.02, mode='train'),
    dict(type='SphereCrop', point_max=100000, mode='random'),
    dict(type='CenterShift', apply_z=False),
    dict(type='RenderSceneViews', num_views=num_views, img_size=224, obj_size=200,
         point_radius_px=1),
    dict(type='NormalizeColor'),
    dict(type='ShufflePoints'),
    dict(type='BuildFeat', keys=('coord', 'color', 'normal')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat', 'views', 'view_rotations'),
         data_keys=()),
]
val_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='GridSample', grid_size=0.02, mode='train'),
    dict(type='SphereCrop', point_max=100000, mode='center'),
    dict(type='CenterShift', apply_z=False),
    dict(type='RenderSceneViews', num_views=num_views, img_size=224, obj_size=200,
         point_radius_px=1),
    dict(type='NormalizeColor'),
    dict(type='BuildFeat', keys=('coord', 'color', 'normal')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat', 'views', 'view_rotations'),
         data_keys=()),
]

train_dataloader = dict(
    batch_size=3,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 pipeline=val_pipeline, test_mode=True))
