# Ablation (paper Table 7b): foreground only, w_fg 20 and w_bg 0.
_base_ = ['./baseline.py']
model = dict(loss=dict(weight_fg=20.0, weight_bg=0.0))
