# Table 7a grid: depth 8, width 256 (8 heads x 32).
_base_ = ['./baseline.py']
model = dict(head=dict(depth=8))
