# Short name for tap_dgcnn_1xb16-cosine-100e_shapenet55.py.
_base_ = ['./tap_dgcnn_1xb16-cosine-100e_shapenet55.py']
