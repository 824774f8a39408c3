# Formula queries without the direction term (origin + PE): the paper's ablation F4
# (Table 6b, docs/tap.md §14; the numbers in these file names are not the paper's rows).
_base_ = ['./baseline.py']
model = dict(head=dict(query_components=('origin', 'pe')))
