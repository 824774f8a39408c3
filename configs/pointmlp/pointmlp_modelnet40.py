# Short name for pointmlp_1xb32-sgd-cosine-300e_modelnet40.py.
_base_ = ['./pointmlp_1xb32-sgd-cosine-300e_modelnet40.py']
