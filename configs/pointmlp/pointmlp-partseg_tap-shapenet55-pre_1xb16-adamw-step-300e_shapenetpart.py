# PointMLP fine-tuned on ShapeNetPart from its TAP pre-training on ShapeNet55: the
# scratch recipe plus 10 warm-up epochs. The encoder loads the pre-trained backbone
# (prefix 'backbone.'). Pre-training saw xyz + height (4 channels), part
# segmentation sees xyz + normals (6), so the first embedding layer keeps its fresh
# initialisation, as in the TAP authors' code; every other encoder key must match.
# Set `pretrained` or pass --cfg-options model.backbone.init_cfg.checkpoint=PATH.
# The loss is the authors' (cfgs/shapenetpart: Poly1FocalLoss, openpoints' defaults).
_base_ = [
    '../_base_/models/pointmlp_partseg.py', '../_base_/datasets/shapenetpart.py',
    '../_base_/schedules/partseg_adamw_warmup10_step_300e.py', '../_base_/default_runtime.py'
]
pretrained = 'work_dirs/tap_pointmlp_1xb32-cosine-100e_shapenet55/epoch_100.pth'
model = dict(
    loss=dict(type='Poly1FocalLoss', epsilon=1.0, alpha=0.25, gamma=2.0),
    backbone=dict(init_cfg=dict(type='PretrainedSkipKeys', checkpoint=pretrained,
                                prefix='backbone.', skip_keys=('embedding.net.0.weight', ))))
default_hooks = dict(checkpoint=dict(save_best='mIoU_I', rule='greater'))
