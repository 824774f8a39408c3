# Ablation F2: formula queries without the direction term (origin + PE).
_base_ = ['./baseline.py']
model = dict(head=dict(query_components=('origin', 'pe')))
