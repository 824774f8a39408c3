# DGCNN classifier as TAP configures it: k = 20, 4 input channels, head on
# [max ; mean] pooling (2048-d); 1,803,023 parameters for 15 classes.
model = dict(
    type='PointClassifier',
    data_preprocessor=dict(type='PointDataPreprocessor'),
    backbone=dict(type='DGCNN', in_channels=4, k=20, embed_dims=1024),
    head=dict(
        type='ClsHead',
        in_channels=2048,
        num_classes=15,
        hidden_channels=(512, 256),
        dropout=0.5,
        loss=dict(type='LabelSmoothingCrossEntropy', smoothing=0.3)),
    test_cfg=dict(voting=1))
