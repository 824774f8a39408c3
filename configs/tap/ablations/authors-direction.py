# The authors' code's direction term: the third column of R instead of the optical
# axis R^T e_z. For the 12 fixed views it is the same vector for every azimuth.
_base_ = ['./baseline.py']
model = dict(head=dict(authors_direction=True))
