# Short name of pointmlp-partseg_1xb16-adamw-step-300e_shapenetpart.py.
_base_ = ['./pointmlp-partseg_1xb16-adamw-step-300e_shapenetpart.py']
