# The benchmark recipe with the authors' photograph-module sizes (32 x 32 heads,
# 18.6M parameters, direction from the third column of R), computed by tap3d's
# fast TAPHead: the same architecture as the reference variant, so the ratio
# between the two is the speed-up from the implementation alone.
_base_ = ['./tap_pointmlp_1xb8_synthetic-shapenet55.py']

model = dict(head=dict(num_heads=32, head_dims=32, authors_direction=True))
