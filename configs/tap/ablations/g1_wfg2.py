# Ablation G1 (paper Table 7b): foreground weight 2, background weight 1.
_base_ = ['./baseline.py']
model = dict(loss=dict(weight_fg=2.0, weight_bg=1.0))
