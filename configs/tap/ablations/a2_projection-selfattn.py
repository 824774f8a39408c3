# Ablation A2 (paper Table 6): A1, then self-attention blocks over the 7 x 7 cells
# with a pose token (an MLP of the flattened rotation) appended.
_base_ = ['./baseline.py']
model = dict(head=dict(photograph='projection_attention'))
