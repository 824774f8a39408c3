# Scene-level TAP pre-training of the sparse-conv U-Net's encoder on ScanNetV2.
# The photograph module's memory is the deepest sparse level (stride 16: 32 cm
# voxels, 256 channels), one token per occupied voxel at the mean of its points,
# in offset form. Schedule: the TAP recipe (AdamW 2e-3, wd 0.05, cosine, 100 epochs).
_base_ = ['../../../configs/_base_/datasets/scannet_seg_tap.py',
          '../../../configs/_base_/schedules/ptv2_tap-cosine-100e.py',
          '../../../configs/_base_/default_runtime.py']

custom_imports = dict(imports=['projects.sparse_unet.sparse_unet'], allow_failed_imports=False)

model = dict(
    type='TAPPretrainer',
    data_preprocessor=dict(type='PointDataPreprocessor', batch_mode='offset'),
    backbone=dict(type='SpUNetBackbone', in_channels=6, grid_size=0.02, out='encoder'),
    head=dict(type='TAPHead'),
    loss=dict(type='ViewLoss'))

feat_keys = ('color', 'normal')
pack = dict(type='PackPointInputs',
            input_keys=('coord', 'grid_coord', 'feat', 'views', 'view_rotations'),
            data_keys=())
train_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='RandomRotate', angle_range=(-3.141592653589793, 3.141592653589793), p=0.5),
    dict(type='RandomScale', scale_range=(0.9, 1.1)),
    dict(type='RandomFlip3D', p=0.5, axes=(0, 1)),
    dict(type='RandomJitter', sigma=0.005, clip=0.02),
    dict(type='ChromaticAutoContrast', p=0.2, blend_factor=None),
    dict(type='ChromaticTranslation', p=0.95, ratio=0.05),
    dict(type='ChromaticJitter', p=0.95, std=0.05),
    dict(type='GridSample', grid_size=0.02, mode='train', return_grid_coord=True),
    dict(type='SphereCrop', point_max=100000, mode='random'),
    dict(type='CenterShift', apply_z=False),
    dict(type='RenderSceneViews', num_views=6, img_size=224, obj_size=200, point_radius_px=1),
    dict(type='NormalizeColor'),
    dict(type='BuildFeat', keys=feat_keys),
    pack,
]
val_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='GridSample', grid_size=0.02, mode='train', return_grid_coord=True),
    dict(type='SphereCrop', point_max=100000, mode='center'),
    dict(type='CenterShift', apply_z=False),
    dict(type='RenderSceneViews', num_views=6, img_size=224, obj_size=200, point_radius_px=1),
    dict(type='NormalizeColor'),
    dict(type='BuildFeat', keys=feat_keys),
    pack,
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
val_evaluator = dict(type='ViewMetric')
default_hooks = dict(checkpoint=dict(interval=10, save_best=None))
