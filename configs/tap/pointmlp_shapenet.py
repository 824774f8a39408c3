# Short name of configs/tap/tap_pointmlp_8xb32-cosine-100e_shapenet55.py.
_base_ = ['./tap_pointmlp_8xb32-cosine-100e_shapenet55.py']
