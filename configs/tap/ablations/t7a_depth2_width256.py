# Table 7a grid: depth 2, width 256 (8 heads x 32).
_base_ = ['./baseline.py']
model = dict(head=dict(depth=2))
