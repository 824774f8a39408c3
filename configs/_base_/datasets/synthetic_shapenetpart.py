# tap3d's synthetic part-labelled shapes (python tools/create_data.py synthetic)
# in the ShapeNetPart layout: the recipe's pipeline with 512 points, batch 8, no
# worker processes.
_base_ = ['./shapenetpart.py']
data_root = 'data/synthetic/ShapeNetPart/shapenetcore_partanno_segmentation_benchmark_v0_normal'
num_points = 512
train_pipeline = [
    dict(type='PointSample', num_points=num_points, method='random', replace=True),
    dict(type='RandomScale', scale_range=(0.8, 1.2), anisotropic=True, scale_normal=False),
    dict(type='NormalizePoints'),
    dict(type='RandomJitter', sigma=0.001, clip=0.005),
    dict(type='BuildFeat', keys=('coord', 'normal')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'),
         data_keys=dict(gt_label='gt_label', segment='gt_part_labels')),
]
test_pipeline = [
    dict(type='PointSample', num_points=num_points, method='fps', fps_start=0),
    dict(type='NormalizePoints'),
    dict(type='BuildFeat', keys=('coord', 'normal')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'),
         data_keys=dict(gt_label='gt_label', segment='gt_part_labels')),
]
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
