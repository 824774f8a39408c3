# TAP pre-training data: ShapeNet55 with its 12 views (paper §4.1).
# Train on train+val, validate on test; 1024 points, xyz + height (4 channels),
# random scaling in [0.9, 1.1] then centre + unit sphere, 6 of the 12 views.
# The scaling is anisotropic, like the authors' PointCloudScaling default: an
# isotropic factor would be undone exactly by the normalisation.
# The height is the authors': z minus its minimum on the loaded cloud (z-up, in the
# unit sphere), taken BEFORE the random scaling and stored (AddHeight), so BuildFeat
# concatenates the unscaled height to the scaled, re-normalised xyz.
dataset_type = 'ShapeNet55Dataset'
data_root = 'data/ShapeNet55'
num_points = 1024
num_views = 6

train_pipeline = [
    dict(type='AddHeight'),
    dict(type='RandomScale', scale_range=(0.9, 1.1), anisotropic=True),
    dict(type='NormalizePoints'),
    dict(type='BuildFeat', keys=('coord', 'height')),
    dict(type='PackPointInputs'),
]
test_pipeline = [
    dict(type='AddHeight'),
    dict(type='NormalizePoints'),
    dict(type='BuildFeat', keys=('coord', 'height')),
    dict(type='PackPointInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        splits=('train', 'val'),
        num_points=num_points,
        num_views=num_views,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        splits=('test', ),
        num_points=num_points,
        num_views=num_views,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ViewMetric')
test_evaluator = val_evaluator
