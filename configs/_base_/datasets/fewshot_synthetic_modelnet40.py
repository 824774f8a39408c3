# Few-shot folds written from tap3d's synthetic ModelNet40:
#   python tools/misc/make_fewshot_folds.py \
#       data/synthetic/ModelNet40/modelnet40_normal_resampled \
#       data/synthetic/ModelNetFewshot --ways 5 --shots 2 --num-query 3 \
#       --num-points 2048
_base_ = ['./fewshot_modelnet40.py']
data_root = 'data/synthetic/ModelNetFewshot'
way = 5
shot = 2
num_points = 256
train_dataloader = dict(
    batch_size=5, num_workers=0, persistent_workers=False, drop_last=True,
    dataset=dict(data_root=data_root, way=way, shot=shot, pipeline=[
        dict(type='NormalizePoints'),
        dict(type='PointSample', num_points=300, method='fps'),
        dict(type='PointSample', num_points=num_points, method='random'),
        dict(type='RandomScaleTranslate', scale_range=(2. / 3., 3. / 2.), translate_range=0.2),
        dict(type='BuildFeat', keys=('coord', )),
        dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
    ]))
val_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, way=way, shot=shot, pipeline=[
        dict(type='NormalizePoints'),
        dict(type='PointSample', num_points=num_points, method='fps', fps_start=0),
        dict(type='BuildFeat', keys=('coord', )),
        dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
    ]))
test_dataloader = val_dataloader
