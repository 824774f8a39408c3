# Ablation G4 (paper Table 7b): foreground weight 20, background weight 1.
_base_ = ['./baseline.py']
model = dict(loss=dict(weight_fg=20.0, weight_bg=1.0))
