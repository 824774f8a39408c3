# The synthetic CPU part segmentation fine-tuned from the CPU TAP demo's PointMLP
# (configs/tap/synthetic/tap_pointmlp_synthetic-cpu.py, same encoder options). As for real
# data, the first embedding layer (4 -> 6 input channels) keeps its fresh
# initialisation and every other encoder key must match.
_base_ = ['./pointmlp-partseg_1xb8-2e_synthetic-shapenetpart.py']
pretrained = 'work_dirs/tap_pointmlp_synthetic-cpu/epoch_60.pth'  # its last epoch
model = dict(
    backbone=dict(init_cfg=dict(type='PretrainedSkipKeys', checkpoint=pretrained,
                                prefix='backbone.', skip_keys=('embedding.net.0.weight', ))))
