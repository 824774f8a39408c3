# Short name of pointmlp-partseg_tap-shapenet55-pre_1xb16-adamw-step-300e_shapenetpart.py.
_base_ = ['./pointmlp-partseg_tap-shapenet55-pre_1xb16-adamw-step-300e_shapenetpart.py']
