# Scene-level TAP pre-training of PTv2 (m2) on ScanNetV2 train scenes. The memory
# of the photograph module is the deepest encoder level (out='encoder': one
# 512-channel token per occupied 0.9375 m voxel, in offset form, padded by the TAP
# head); the decoder is not built. The views are photographs of the augmented,
# cropped scene (RenderSceneViews). Only the backbone is kept: fine-tune with
# configs/ptv2/ptv2m2_tap-scannet-pre_4xb3-cosine-900e_scannet.py.
_base_ = [
    '../_base_/datasets/scannet_seg_tap.py', '../_base_/schedules/ptv2_tap-cosine-100e.py',
    '../_base_/default_runtime.py'
]

model = dict(
    type='TAPPretrainer',
    data_preprocessor=dict(type='PointDataPreprocessor', batch_mode='offset'),
    backbone=dict(type='PointTransformerV2', in_channels=9, out='encoder'),
    # the authors' regularisation (docs/tap.md, deviations)
    head=dict(type='TAPHead', drop_path_rate=0.0, ffn_out_drop=False),
    loss=dict(type='ViewLoss'))

default_hooks = dict(checkpoint=dict(interval=10, save_best=None))
val_evaluator = dict(type='ViewMetric')
