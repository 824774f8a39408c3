# CPU-sized PointMLP part segmentation on tap3d's synthetic part-labelled shapes
# (python tools/create_data.py synthetic): 512 points, the encoder of the CPU TAP
# demo (configs/tap/synthetic/tap_pointmlp_synthetic-cpu.py: embed 16, one block per stage,
# k = 16), a narrow decoder, batch 8, 2 epochs, no voting (tools/test.py --vote N)
# and no refinement.
_base_ = [
    '../../_base_/models/pointmlp_partseg.py', '../../_base_/datasets/synthetic_shapenetpart.py',
    '../../_base_/schedules/partseg_adamw_step_300e.py', '../../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(embed_dim=16, pre_blocks=(1, 1, 1, 1), pos_blocks=(1, 1, 1, 1),
                  k_neighbors=(16, 16, 16, 16)),
    head=dict(decoder_channels=(128, 64, 32, 32), decoder_blocks=(1, 1, 1, 1), gmp_dim=16,
              cls_dim=16, hidden_channels=32),
    test_cfg=dict(voting=1, refine=0))
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(save_best='mIoU_I', rule='greater'))
