# PointNet++ MSG classifier (multi-scale grouping of the PointNet++ paper).
_base_ = ['./pointnet2_ssg.py']
model = dict(backbone=dict(arch='msg'))
