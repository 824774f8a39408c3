# Ablation G2 (paper Table 7b): foreground weight 5, background weight 1.
_base_ = ['./baseline.py']
model = dict(loss=dict(weight_fg=5.0, weight_bg=1.0))
