# CPU-sized fine-tuning of the synthetic PTv2 from its scene-level TAP checkpoint
# (configs/tap/synthetic/tap_ptv2_1xb2-2e_synthetic-scannet.py; same backbone widths). The
# decoder is new; every encoder key must match.
_base_ = ['./ptv2m2_1xb2-2e_synthetic-scannet.py']

model = dict(
    backbone=dict(init_cfg=dict(
        type='CheckedPretrained',
        checkpoint='work_dirs/tap_ptv2_1xb2-2e_synthetic-scannet/epoch_2.pth',
        prefix='backbone.',
        allow_missing=True)))
