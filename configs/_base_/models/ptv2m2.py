# Point Transformer V2 (m2) for ScanNetV2 semantic segmentation (20 classes).
# The backbone's defaults are the ScanNet configuration (patch embed 48/6 groups/8
# neighbours; encoder depths 2-2-6-2, widths 96-192-384-512; grid 0.06-0.15-0.375-
# 0.9375; decoder 48-96-192-384; drop path 0.3); with this head the model has
# 11,323,948 parameters, as the reference PT-v2m2 does. Input: 9 channels (xyz,
# rgb, normal) in offset form.
model = dict(
    type='SceneSegmentor',
    data_preprocessor=dict(type='PointDataPreprocessor', batch_mode='offset'),
    backbone=dict(type='PointTransformerV2', in_channels=9),
    head=dict(type='SegHead', num_classes=20, hidden_channels=48),
    ignore_index=-1)
