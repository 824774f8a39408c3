# PointMLP classifier with TAP's 4 input channels (xyz + height):
# 13,231,375 parameters for 15 classes.
model = dict(
    type='PointClassifier',
    data_preprocessor=dict(type='PointDataPreprocessor'),
    backbone=dict(type='PointMLP', in_channels=4, arch='pointmlp'),
    head=dict(
        type='ClsHead',
        in_channels=1024,
        num_classes=15,
        hidden_channels=(512, 256),
        dropout=0.5,
        loss=dict(type='LabelSmoothingCrossEntropy', smoothing=0.3)),
    test_cfg=dict(voting=1))
