# Short name of configs/tap/tap_pointmlp_1xb32-cosine-100e_shapenet55.py.
_base_ = ['./tap_pointmlp_1xb32-cosine-100e_shapenet55.py']
