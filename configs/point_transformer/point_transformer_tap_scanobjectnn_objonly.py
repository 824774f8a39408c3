# Short name for point-transformer_tap-shapenet55-pre_1xb32-adamw-cosine-300e_scanobjectnn-objonly.py.
_base_ = ['./point-transformer_tap-shapenet55-pre_1xb32-adamw-cosine-300e_scanobjectnn-objonly.py']
