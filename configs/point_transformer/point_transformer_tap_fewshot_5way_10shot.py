# Short name for point-transformer_tap-shapenet55-pre_1xb32-adamw-warmup-cosine-150e_modelnet40-fewshot-5way-10shot.py.
_base_ = ['./point-transformer_tap-shapenet55-pre_1xb32-adamw-warmup-cosine-150e_modelnet40-fewshot-5way-10shot.py']
