# Ablation G5 (paper Table 7b): foreground weight 30, background weight 1.
_base_ = ['./baseline.py']
model = dict(loss=dict(weight_fg=30.0, weight_bg=1.0))
