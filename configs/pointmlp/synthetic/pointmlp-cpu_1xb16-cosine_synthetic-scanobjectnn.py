# The fine-tuning stage of the CPU demo (tools/run_demo.py): the small PointMLP of
# configs/tap/synthetic/tap_pointmlp_synthetic-cpu.py (embed 16, one pre/pos block per stage,
# k = 16; 256-d global feature) on tap3d's synthetic ScanObjectNN PB_T50_RS files,
# with TAP's ScanObjectNN recipe (AdamW 5e-4, wd 0.05, label smoothing 0.3, grad clip
# 10, cosine with warm-up) shrunk to 10 epochs and 512 points. From scratch as is;
# from a TAP checkpoint with
#   --cfg-options model.backbone.init_cfg.type=CheckedPretrained \
#       model.backbone.init_cfg.checkpoint=CKPT model.backbone.init_cfg.prefix=backbone.
_base_ = [
    '../../_base_/models/cls_pointmlp.py', '../../_base_/datasets/synthetic_scanobjectnn.py',
    '../../_base_/schedules/cls_adamw_cosine_300e.py', '../../_base_/default_runtime.py'
]
num_points = 512
max_epochs = 10
warmup_epochs = 1

model = dict(
    backbone=dict(embed_dim=16, pre_blocks=(1, 1, 1, 1), pos_blocks=(1, 1, 1, 1),
                  k_neighbors=(16, 16, 16, 16)),
    head=dict(in_channels=256))

train_pipeline = [
    dict(type='PointSample', num_points=num_points, method='first'),
    dict(type='ShufflePoints'),
    dict(type='RandomScale', scale_range=(0.9, 1.1), anisotropic=True),
    dict(type='NormalizePoints'),
    dict(type='RandomRotate', axis=2),
    dict(type='BuildFeat', keys=('coord', 'height')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
]
test_pipeline = [
    dict(type='PointSample', num_points=num_points, method='first'),
    dict(type='NormalizePoints'),
    dict(type='BuildFeat', keys=('coord', 'height')),
    dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=32, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
# validation every epoch: tools/run_demo.py plots the accuracy per epoch
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=5, save_best=None))
