# Short name for dgcnn_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py.
_base_ = ['./dgcnn_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py']
