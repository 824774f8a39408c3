# Ablation G6 (paper Table 7b): foreground weight 50, background weight 1.
_base_ = ['./baseline.py']
model = dict(loss=dict(weight_fg=50.0, weight_bg=1.0))
