# TAP pre-training of the 3DETR-m encoder (pre-encoder + masked transformer
# encoder) on 1024-point objects in the unit sphere.
#
# Only sampling settings differ from the ScanNet model, and none of them is a
# weight, so every encoder weight transfers to the detector: 512 pre-encoder
# centres (256 tokens after the interim set abstraction, the TAP memory), ball
# radius 0.2 with 32 samples as PointNet++'s first object layer, and mask radii
# 0.4 / 0.8 / 1.2 used as stated (square_masking_radius=False): the scene model's
# squared radii (0.16 m) would leave about three tokens inside the first mask on a
# unit-sphere object. The encoder dropout stays at the constructor's 0.1.
model = dict(
    type='TAPPretrainer',
    backbone=dict(
        type='ThreeDETREncoder',
        encoder_type='masked',
        num_points=512,
        radius=0.2,
        num_samples=32,
        square_masking_radius=False,
        interim_radius=0.4,
        interim_num_samples=32),
    # the TAP authors' regularisation (docs/tap.md, deviations)
    head=dict(type='TAPHead', in_channels=256, drop_path_rate=0.0, ffn_out_drop=False),
    loss=dict(type='ViewLoss'))
