# Reference variant of the PointMLP benchmark: the straight port of the
# authors' code (same parameters, same function, see PointMLPReference).
_base_ = ['./pointmlp_1xb8_synthetic-shapenet55.py']

model = dict(type='PointMLPReference')
