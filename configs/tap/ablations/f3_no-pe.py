# Ablation F3: formula queries without the position embedding (origin + direction).
_base_ = ['./baseline.py']
model = dict(head=dict(query_components=('origin', 'direction')))
