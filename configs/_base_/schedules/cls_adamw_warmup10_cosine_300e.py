# Fine-tuning a TAP backbone: the scratch schedule plus 10 linear warm-up epochs.
# As the authors' (timm's) cosine scheduler: the linear warm-up starts from an lr of
# 1e-6 and the cosine is counted from epoch 0, not restarted after the warm-up; the
# two overlap, so after the warm-up the lr is the authors' curve (to 1e-4). tap3d steps
# it per iteration, the authors per epoch (docs/tap.md, deviations).
_base_ = ['./cls_adamw_cosine_300e.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 5e-4, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=300, eta_min=1e-6, by_epoch=True, begin=0,
         end=300, convert_to_iter_based=True),
]
