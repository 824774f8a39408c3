# TAP pre-training model: PointMLP (xyz + height, 4 channels) + the TAP head
# (Photograph module: depth 6, width 256, 8 x 32 heads; 224-pixel views framed on
# a 200-pixel object, 7 x 7 query cells) + the fg/bg-weighted view loss (20 : 1).
# Every size is the constructors' default; see docs/tap.md.
model = dict(
    type='TAPPretrainer',
    data_preprocessor=dict(type='PointDataPreprocessor', batch_mode='stack'),
    backbone=dict(type='PointMLP', in_channels=4),
    head=dict(type='TAPHead'),  # in_channels = backbone.out_channels (1024)
    loss=dict(type='ViewLoss', weight_fg=20.0, weight_bg=1.0))
