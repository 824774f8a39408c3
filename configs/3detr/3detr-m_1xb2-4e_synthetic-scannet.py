# CPU-sized 3DETR-m on tap3d's synthetic ScanNet-layout scenes
# (python tools/create_data.py synthetic). The same model with fewer points,
# queries and decoder layers; the data path and point counts are all that differ
# from a real run.
_base_ = ['./3detr-m_8xb8-1080e_scannet.py']

data_root = 'data/synthetic/scannet'
num_points = 4000

model = dict(
    backbone=dict(num_points=512, num_samples=32),
    head=dict(num_queries=64, num_layers=4))

train_pipeline = [
    dict(type='RandomCuboidCrop', min_points=3000),
    dict(type='PointSubsample', num_points=num_points),
    dict(type='RandomFlip', p=0.5, axes=(0, 1)),
    dict(type='RandomRotateZ', angle=(-3.141592653589793 / 36, 3.141592653589793 / 36)),
    dict(type='PackSceneInputs', input_keys=('coord', ),
         data_keys=('gt_bboxes_3d', 'gt_labels_3d')),
]
test_pipeline = [
    dict(type='PointSubsample', num_points=num_points),
    dict(type='PackSceneInputs', input_keys=('coord', ),
         data_keys=('gt_bboxes_3d', 'gt_labels_3d')),
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=1e-3), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=3, eta_min=1e-5, by_epoch=True, begin=1, end=4,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=4, val_interval=4)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=4))
