# CPU-sized few-shot run on folds written from tap3d's synthetic ModelNet40
# (see _base_/datasets/fewshot_synthetic_modelnet40.py for the command):
# a 4-block Transformer with 32 groups of 16, 2 epochs.
_base_ = [
    '../../_base_/models/standard_transformer.py',
    '../../_base_/datasets/fewshot_synthetic_modelnet40.py',
    '../../_base_/schedules/cls_adamw_warmup10_cosine_150e.py', '../../_base_/default_runtime.py'
]
way = 5
model = dict(
    backbone=dict(num_groups=32, group_size=16, radius=0.2, depth=4),
    head=dict(num_classes=way, loss=dict(smoothing=0.0)))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, eta_min=1e-5, by_epoch=True,
                        begin=0, end=2, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
