# Ablation F4: formula queries from the origin term alone.
_base_ = ['./baseline.py']
model = dict(head=dict(query_components=('origin', )))
