# Ablation E (paper Table 6): learnable queries, an MLP from the flattened 3 x 3
# pose matrix to one query per cell, instead of the optical-line formula.
_base_ = ['./baseline.py']
model = dict(head=dict(query_type='learnable'))
