# Table 7a grid: depth 6, width 1024 (32 heads x 32).
_base_ = ['./baseline.py']
model = dict(head=dict(embed_dims=1024, num_heads=32, head_dims=32))
