# Short name for point-transformer_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py.
_base_ = ['./point-transformer_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py']
