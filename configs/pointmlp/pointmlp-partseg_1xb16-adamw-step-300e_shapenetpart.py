# PointMLP trained from scratch on ShapeNetPart (the TAP / PointMLP recipe, docs/tap.md §13):
# 2048 points with normals, batch 16, AdamW 1e-3 (weight decay 1e-4), 300 epochs,
# lr x0.1 at 210 and 270. Reported as mIoU_C / mIoU_I with the authors' voting:
# tools/test.py CONFIG CKPT --vote 11.
_base_ = [
    '../_base_/models/pointmlp_partseg.py', '../_base_/datasets/shapenetpart.py',
    '../_base_/schedules/partseg_adamw_step_300e.py', '../_base_/default_runtime.py'
]
default_hooks = dict(checkpoint=dict(save_best='mIoU_I', rule='greater'))
