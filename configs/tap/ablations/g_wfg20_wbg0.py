# Foreground only, w_fg 20 and w_bg 0: a variant of G4, not a row of the paper's
# Table 7b (docs/tap.md §14).
_base_ = ['./baseline.py']
model = dict(loss=dict(weight_fg=20.0, weight_bg=0.0))
