# CPU-sized fine-tuning of the synthetic sparse-conv U-Net from its scene-level TAP
# checkpoint (tap_spunet_1xb2-2e_synthetic-scannet.py; same widths). The up stages
# are new; every encoder key must match.
_base_ = ['./spunet_1xb2-2e_synthetic-scannet.py']

model = dict(
    backbone=dict(init_cfg=dict(
        type='CheckedPretrained',
        checkpoint='work_dirs/tap_spunet_1xb2-2e_synthetic-scannet/epoch_2.pth',
        prefix='backbone.',
        allow_missing=True)))
