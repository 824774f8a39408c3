# Table 7a grid: depth 6, width 128 (4 heads x 32).
_base_ = ['./baseline.py']
model = dict(head=dict(embed_dims=128, num_heads=4, head_dims=32))
