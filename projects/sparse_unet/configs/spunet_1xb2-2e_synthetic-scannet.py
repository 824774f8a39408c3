# CPU-sized sparse-conv U-Net on tap3d's synthetic rooms
# (python tools/create_data.py synthetic): 5 cm voxels, narrow widths, one block
# per stage, 2 epochs. Runs train -> val -> test (fragment voting) in CI.
_base_ = ['../../../configs/_base_/datasets/synthetic_scannet_seg.py',
          '../../../configs/_base_/default_runtime.py']

custom_imports = dict(imports=['projects.sparse_unet.sparse_unet'], allow_failed_imports=False)

model = dict(
    type='SceneSegmentor',
    data_preprocessor=dict(type='PointDataPreprocessor', batch_mode='offset'),
    backbone=dict(type='SpUNetBackbone', in_channels=6, grid_size=0.05, base_channels=16,
                  channels=(16, 32, 32, 64, 32, 32, 16, 16), layers=(1, 1, 1, 1, 1, 1, 1, 1)),
    head=dict(type='SegHead', num_classes=20),
    ignore_index=-1)

feat_keys = ('color', 'normal')
pack = dict(type='PackPointInputs', input_keys=('coord', 'grid_coord', 'feat'),
            data_keys=('segment', ))
train_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='RandomRotate', angle_range=(-3.141592653589793, 3.141592653589793), p=0.5),
    dict(type='RandomScale', scale_range=(0.9, 1.1)),
    dict(type='RandomFlip3D', p=0.5, axes=(0, 1)),
    dict(type='GridSample', grid_size=0.05, mode='train', return_grid_coord=True),
    dict(type='SphereCrop', point_max=6000, mode='random'),
    dict(type='CenterShift', apply_z=False),
    dict(type='NormalizeColor'),
    dict(type='BuildFeat', keys=feat_keys),
    pack,
]
val_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='GridSample', grid_size=0.05, mode='train', return_grid_coord=True,
         return_inverse=True),
    dict(type='CenterShift', apply_z=False),
    dict(type='NormalizeColor'),
    dict(type='BuildFeat', keys=feat_keys),
    # predictions and labels cover every original point through the inverse map
    dict(type='PackPointInputs', input_keys=('coord', 'grid_coord', 'feat'),
         data_keys=('origin_segment', 'inverse')),
]
test_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='NormalizeColor'),
    dict(type='GridSample', grid_size=0.05, mode='test', return_grid_coord=True),
    dict(type='CenterShift', apply_z=False),
    dict(type='BuildFeat', keys=feat_keys),
    pack,
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4, nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=1, eta_min=5e-7, by_epoch=True, begin=1, end=2,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=2, save_best='mIoU', rule='greater'))
