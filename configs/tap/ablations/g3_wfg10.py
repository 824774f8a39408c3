# Ablation G3 (paper Table 7b): foreground weight 10, background weight 1.
_base_ = ['./baseline.py']
model = dict(loss=dict(weight_fg=10.0, weight_bg=1.0))
