# TAP pre-training of the toy backbone in tests/data/toy_backbone.py, through the
# config system only. The CPU demo recipe supplies data, head, loss and schedule;
# this file swaps the backbone. `toy_backbone` must be importable (PYTHONPATH).
_base_ = ['../../configs/tap/synthetic/tap_pointmlp_synthetic-cpu.py']

custom_imports = dict(imports=['toy_backbone'], allow_failed_imports=False)

model = dict(
    backbone=dict(_delete_=True, type='ToyPointBackbone', in_channels=4, channels=64,
                  num_centers=32, k=16))
