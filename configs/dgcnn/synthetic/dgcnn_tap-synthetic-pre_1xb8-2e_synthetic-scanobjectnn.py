# CPU-sized fine-tuning from the synthetic TAP pre-training: run
#   python tools/train.py configs/tap/synthetic/tap_dgcnn_1xb4-2e_synthetic-shapenet55.py
# first; its backbone has the same shapes as this one.
_base_ = ['./dgcnn_1xb8-2e_synthetic-scanobjectnn.py']
pretrained = 'work_dirs/tap_dgcnn_1xb4-2e_synthetic-shapenet55/epoch_2.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(type='CheckedPretrained', checkpoint=pretrained, prefix='backbone.')))
