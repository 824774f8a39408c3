# Formula queries from the origin term alone: the paper's ablation F2
# (Table 6b, docs/tap.md §14; the numbers in these file names are not the paper's rows).
_base_ = ['./baseline.py']
model = dict(head=dict(query_components=('origin', )))
