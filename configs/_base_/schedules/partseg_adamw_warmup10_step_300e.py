# Fine-tuning a TAP backbone on ShapeNetPart: the scratch schedule plus 10 linear
# warm-up epochs (docs/tap.md §13).
_base_ = ['./partseg_adamw_step_300e.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[210, 270], gamma=0.1, by_epoch=True, begin=0,
         end=300),
]
