# CPU-sized PTv2 (m2) on tap3d's synthetic ScanNet-like rooms
# (python tools/create_data.py synthetic): the same architecture, one block per
# stage and narrow widths, with grid sizes for the synthetic data's 5 cm sampling;
# 2 epochs. It runs the full train -> val -> test (fragment voting) chain in CI.
_base_ = [
    '../../_base_/models/ptv2m2.py', '../../_base_/datasets/synthetic_scannet_seg.py',
    '../../_base_/schedules/ptv2_900e.py', '../../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(
        patch_embed_channels=16, patch_embed_groups=2,
        enc_depths=(1, 1, 1, 1), enc_channels=(16, 32, 32, 64), enc_groups=(2, 4, 4, 8),
        dec_depths=(1, 1, 1, 1), dec_channels=(16, 16, 32, 32), dec_groups=(2, 2, 4, 4),
        grid_sizes=(0.1, 0.2, 0.4, 0.8), drop_path_rate=0.1),
    head=dict(hidden_channels=16))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=1, eta_min=5e-7, by_epoch=True, begin=1, end=2,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=2, val_interval=2)
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=2, save_best='mIoU', rule='greater'))
