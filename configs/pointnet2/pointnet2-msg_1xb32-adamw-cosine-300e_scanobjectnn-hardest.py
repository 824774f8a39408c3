# PointNet++ MSG (multi-scale grouping) from scratch on ScanObjectNN PB_T50_RS.
_base_ = [
    '../_base_/models/pointnet2_msg.py', '../_base_/datasets/scanobjectnn_pb_t50_rs.py',
    '../_base_/schedules/cls_adamw_cosine_300e.py', '../_base_/default_runtime.py'
]
