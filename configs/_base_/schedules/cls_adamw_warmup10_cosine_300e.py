# Fine-tuning a TAP backbone: the scratch schedule plus 10 linear warm-up epochs.
_base_ = ['./cls_adamw_cosine_300e.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=290, eta_min=1e-6, by_epoch=True, begin=10,
         end=300, convert_to_iter_based=True),
]
