# Sparse-conv U-Net (SpUNet-v1m1 layout, 39.2M parameters) on ScanNetV2 semantic
# segmentation with the reference recipe: 2 cm voxels, colour + normal input (6
# channels), SGD (lr 0.05, Nesterov momentum 0.9, weight decay 1e-4) with a
# one-cycle-shaped schedule over 800 passes, 12 scenes per step (4 GPUs x 3).
# Run with the stock tools: python tools/train.py projects/sparse_unet/configs/<this file>
_base_ = ['../../../configs/_base_/datasets/scannet_seg.py',
          '../../../configs/_base_/default_runtime.py']

custom_imports = dict(imports=['projects.sparse_unet.sparse_unet'], allow_failed_imports=False)

model = dict(
    type='SceneSegmentor',
    data_preprocessor=dict(type='PointDataPreprocessor', batch_mode='offset'),
    backbone=dict(type='SpUNetBackbone', in_channels=6, grid_size=0.02),
    head=dict(type='SegHead', num_classes=20),
    ignore_index=-1)

# the U-Net reads the integer voxel of each point (grid_coord) and colour + normal
feat_keys = ('color', 'normal')
pack = dict(type='PackPointInputs', input_keys=('coord', 'grid_coord', 'feat'),
            data_keys=('segment', ))
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
    dict(type='NormalizeColor'),
    dict(type='BuildFeat', keys=feat_keys),
    pack,
]
val_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='GridSample', grid_size=0.02, mode='train', return_grid_coord=True,
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
    dict(type='GridSample', grid_size=0.02, mode='test', return_grid_coord=True),
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
    # the reference one-cycle shape (5% warm-up from lr/10, cosine to lr/10/10000)
    # from two schedulers: mmengine's OneCycleLR state does not load with
    # weights_only=True
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=40,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=760, eta_min=5e-7, by_epoch=True, begin=40,
         end=800, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=800, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=12)
default_hooks = dict(checkpoint=dict(interval=10, save_best='mIoU', rule='greater'))
