# CPU-sized scene-level TAP pre-training of the sparse-conv U-Net's encoder on
# tap3d's synthetic rooms. The backbone matches spunet_1xb2-2e_synthetic-scannet.py,
# which fine-tunes from it; its deepest level has 0.8 m voxels.
_base_ = ['../../../configs/_base_/datasets/synthetic_scannet_tap.py',
          '../../../configs/_base_/default_runtime.py']

custom_imports = dict(imports=['projects.sparse_unet.sparse_unet'], allow_failed_imports=False)

model = dict(
    type='TAPPretrainer',
    data_preprocessor=dict(type='PointDataPreprocessor', batch_mode='offset'),
    backbone=dict(type='SpUNetBackbone', in_channels=6, grid_size=0.05, base_channels=16,
                  channels=(16, 32, 32, 64, 32, 32, 16, 16), layers=(1, 1, 1, 1, 1, 1, 1, 1),
                  out='encoder'),
    head=dict(type='TAPHead', depth=1),
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
    dict(type='GridSample', grid_size=0.05, mode='train', return_grid_coord=True),
    dict(type='SphereCrop', point_max=4000, mode='random'),
    dict(type='CenterShift', apply_z=False),
    dict(type='RenderSceneViews', num_views=2, img_size=224, obj_size=200, point_radius_px=2),
    dict(type='NormalizeColor'),
    dict(type='BuildFeat', keys=feat_keys),
    pack,
]
val_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='GridSample', grid_size=0.05, mode='train', return_grid_coord=True),
    dict(type='SphereCrop', point_max=4000, mode='center'),
    dict(type='CenterShift', apply_z=False),
    dict(type='RenderSceneViews', num_views=2, img_size=224, obj_size=200, point_radius_px=2),
    dict(type='NormalizeColor'),
    dict(type='BuildFeat', keys=feat_keys),
    pack,
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
val_evaluator = dict(type='ViewMetric')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10.0),
    constructor='FilterDecayOptimWrapperConstructor')  # authors: no decay on 1-d params
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, eta_min=1e-5, by_epoch=True,
                        begin=0, end=2, convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=2)
val_cfg = dict(type='ValLoop')
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=2, save_best=None))
