# Ablation F1: formula queries without the origin term (direction + PE).
_base_ = ['./baseline.py']
model = dict(head=dict(query_components=('direction', 'pe')))
