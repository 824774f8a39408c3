# Short name for tap_pointnet2_1xb32-cosine-100e_shapenet55.py.
_base_ = ['./tap_pointnet2_1xb32-cosine-100e_shapenet55.py']
