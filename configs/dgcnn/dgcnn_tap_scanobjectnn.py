# Short name for dgcnn_tap-shapenet55-pre_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py.
_base_ = ['./dgcnn_tap-shapenet55-pre_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py']
