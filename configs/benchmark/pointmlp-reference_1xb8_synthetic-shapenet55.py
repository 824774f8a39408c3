# Reference variant of the PointMLP benchmark: the straight port of the
# authors' code (same parameters, same function, see PointMLPReference).
_base_ = ['./pointmlp_1xb8_synthetic-shapenet55.py']

# the reference models live with the benchmark tools, outside the tap3d package
custom_imports = dict(imports=['tools.analysis.reference_models'], allow_failed_imports=False)
model = dict(type='PointMLPReference')
