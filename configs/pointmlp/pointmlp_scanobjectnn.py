# Short name for pointmlp_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py.
_base_ = ['./pointmlp_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py']
