# PointMLP fine-tuned on ScanObjectNN PB_T50_RS from its TAP pre-training on ShapeNet55:
# the scratch recipe plus 10 warm-up epochs; the backbone loads the pre-trained
# weights (prefix 'backbone.'). Set `pretrained` or pass
# --cfg-options model.backbone.init_cfg.checkpoint=PATH.
_base_ = [
    '../_base_/models/cls_pointmlp.py', '../_base_/datasets/scanobjectnn_pb_t50_rs.py',
    '../_base_/schedules/cls_adamw_warmup10_cosine_300e.py', '../_base_/default_runtime.py'
]
pretrained = 'work_dirs/tap_pointmlp_1xb32-cosine-100e_shapenet55/epoch_100.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(type='CheckedPretrained', checkpoint=pretrained, prefix='backbone.')))
