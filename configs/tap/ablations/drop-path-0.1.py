# Regularisation of tap3d's TAPHead defaults instead of the authors': drop-path 0.1
# on every residual branch of the Photograph module (the paper's text: "the drop path
# rate of the cross-attention layer is set to 0.1") and dropout also after the
# feed-forward output. The authors' code (the recipe, baseline.py) has dropout 0.1
# only. Two switches of baseline.py, not a row of the paper.
_base_ = ['./baseline.py']
model = dict(head=dict(drop_path_rate=0.1, ffn_out_drop=True))
