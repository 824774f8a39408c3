# Ablation A1 (paper Table 6): no attention. Backbone tokens are scattered into the
# 7 x 7 cells they project to (mean per cell); empty cells get the pad token.
_base_ = ['./baseline.py']
model = dict(head=dict(photograph='projection'))
