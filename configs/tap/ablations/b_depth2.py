# Ablation B (paper Table 6): cross-attention depth 2 instead of 6 (width 256).
_base_ = ['./baseline.py']
model = dict(head=dict(depth=2))
