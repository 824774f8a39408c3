# The authors' code's attention width: 32 heads x 32 (inner width 1024) on a
# 256-wide stream, instead of the paper's 8 x 32.
_base_ = ['./baseline.py']
model = dict(head=dict(num_heads=32, head_dims=32))
