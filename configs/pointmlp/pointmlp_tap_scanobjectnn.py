# Short name for pointmlp_tap-shapenet55-pre_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py.
_base_ = ['./pointmlp_tap-shapenet55-pre_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py']
