# Standard point Transformer (Point-BERT / Point-MAE) classifier with the TAP
# authors' grouping (256 FPS centres, ball query r = 0.1, 32 points) and head on
# [cls ; max] (768-d); 22,388,495 parameters for 15 classes.
model = dict(
    type='PointClassifier',
    data_preprocessor=dict(type='PointDataPreprocessor'),
    backbone=dict(
        type='StandardPointTransformer',
        num_groups=256,
        group_size=32,
        grouping='ball',
        radius=0.1,
        encoder_dims=256,
        embed_dims=384,
        depth=12,
        num_heads=6,
        drop_path_rate=0.1),
    head=dict(
        type='ClsHead',
        in_channels=768,
        num_classes=15,
        hidden_channels=(512, 256),
        dropout=0.5,
        loss=dict(type='LabelSmoothingCrossEntropy', smoothing=0.3)),
    test_cfg=dict(voting=1))
