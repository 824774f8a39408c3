# PointMLP part segmentation in the TAP authors' configuration: encoder without
# bias or grouped xyz, k = 24, reducers 2 (2048 -> 1024 -> 512 -> 256 -> 128
# centres), input xyz + normals (6 channels); decoder widths (512, 256, 128, 128)
# with 4 residual blocks per step, 64-wide global context and category token,
# 50 parts. 16,722,560 parameters. Validation, as the authors', is one pass plus
# their refinement (predicted parts of fewer than 10 points take their neighbours'
# labels; refine=0 turns it off). Their test votes: tools/test.py CONFIG CKPT --vote 11
# gives the unscaled pass plus num_votes=10 passes whose per-axis scales in [0.8, 1.2]
# compound from pass to pass and touch only the xyz the network groups with (the
# features, xyz + normals, stay as built), logits averaged.
model = dict(
    type='PartSegmentor',
    data_preprocessor=dict(type='PointDataPreprocessor', batch_mode='stack'),
    backbone=dict(type='PointMLP', in_channels=6, arch='pointmlp', bias=False, use_xyz=False,
                  k_neighbors=(24, 24, 24, 24), reducers=(2, 2, 2, 2)),
    head=dict(type='PointMLPPartSegHead', decoder_channels=(512, 256, 128, 128),
              decoder_blocks=(4, 4, 4, 4), gmp_dim=64, cls_dim=64),
    loss=dict(type='LabelSmoothingCrossEntropy'),
    test_cfg=dict(voting=1, vote_scale=(0.8, 1.2), vote_cumulative=True,
                  vote_scale_feat=False, vote_feat_layout=('coord', 'normal'), refine=10))
