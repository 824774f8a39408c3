# ModelNet40 few-shot (Point-BERT protocol): one fold of one setting; run all
# ten folds with tools/run_fewshot.py. As Point-BERT's code: each shape (8192 points)
# is normalised first; training takes FPS to 1200 points (from a random start: it
# shuffles first), a random 1024 of those and its scale-and-translate augmentation;
# testing takes FPS to 1024 from the first point, without augmentation or voting.
dataset_type = 'ModelNetFewShotDataset'
data_root = 'data/ModelNetFewshot'
way = 5
shot = 10
fold = 0
num_points = 1024

train_pipeline = [
    dict(type='NormalizePoints'),
    dict(type='PointSample', num_points=1200, method='fps'),
    dict(type='PointSample', num_points=num_points, method='random'),
    dict(type='RandomScaleTranslate', scale_range=(2. / 3., 3. / 2.), translate_range=0.2),
    dict(type='BuildFeat', keys=('coord', )),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
]
test_pipeline = [
    dict(type='NormalizePoints'),
    dict(type='PointSample', num_points=num_points, method='fps', fps_start=0),
    dict(type='BuildFeat', keys=('coord', )),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, way=way, shot=shot, fold=fold,
                 split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, way=way, shot=shot, fold=fold,
                 split='test', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ClsMetric')
test_evaluator = val_evaluator
