# Short name for tap_point_transformer_1xb32-cosine-100e_shapenet55.py.
_base_ = ['./tap_point_transformer_1xb32-cosine-100e_shapenet55.py']
