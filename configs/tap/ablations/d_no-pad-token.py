# Ablation D (paper Table 6): no learnable pad token in the memory.
_base_ = ['./baseline.py']
model = dict(head=dict(use_pad_token=False))
