# Ablation C (paper Table 6): width 512 (16 heads x 32) instead of 256, depth 6.
_base_ = ['./baseline.py']
model = dict(head=dict(embed_dims=512, num_heads=16, head_dims=32))
