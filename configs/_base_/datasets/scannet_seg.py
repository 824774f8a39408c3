# ScanNetV2 semantic segmentation, Pointcept layout (20 classes, -1 = ignore).
# PTv2's ScanNet pipeline (Pointcept's semseg-pt-v2m2-0-base): random dropout,
# rotation about z, small tilts, scaling, flips, jitter, elastic distortion and
# chromatic augmentation, 2 cm grid sampling, a sphere crop of at most 100k points,
# and xyz + rgb + normal (9 channels) as input. Validation grid-samples once and scores
# every original point through the inverse map; testing keeps every point and votes
# over all grid-sampling fragments (GridSample mode='test'), summed by SceneSegmentor.
# Not reproduced: Pointcept's point-cloud mixing of two scenes in a batch (mix_prob
# 0.8) and its rotation/scale test-time augmentation.
dataset_type = 'ScanNetSegDataset'
data_root = 'data/scannet'

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
    dict(type='NormalizeColor'),
    dict(type='ShufflePoints'),
    dict(type='BuildFeat', keys=('coord', 'color', 'normal')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('segment', )),
]
val_pipeline = [
    dict(type='CenterShift', apply_z=True),
    dict(type='GridSample', grid_size=0.02, mode='train', return_inverse=True),
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
    dict(type='GridSample', grid_size=0.02, mode='test'),
    dict(type='CenterShift', apply_z=False),
    dict(type='BuildFeat', keys=('coord', 'color', 'normal')),
    # inputs['fragments'] carries the voting fragments; labels cover every point
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('segment', )),
]

train_dataloader = dict(
    batch_size=3,  # 12 scenes in total on 4 GPUs, as in the reference recipe
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
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 pipeline=test_pipeline, test_mode=True))

val_evaluator = dict(type='SegMetric', num_classes=20, ignore_index=-1)
test_evaluator = val_evaluator
