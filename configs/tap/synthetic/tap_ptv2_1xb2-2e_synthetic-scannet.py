# CPU-sized scene-level TAP pre-training of PTv2 (m2) on tap3d's synthetic rooms
# (python tools/create_data.py synthetic). The backbone matches the one of
# configs/ptv2/synthetic/ptv2m2_1xb2-2e_synthetic-scannet.py, which fine-tunes from it.
_base_ = ['../../_base_/datasets/synthetic_scannet_tap.py', '../../_base_/default_runtime.py']

model = dict(
    type='TAPPretrainer',
    data_preprocessor=dict(type='PointDataPreprocessor', batch_mode='offset'),
    backbone=dict(
        type='PointTransformerV2', in_channels=9, out='encoder',
        patch_embed_channels=16, patch_embed_groups=2,
        enc_depths=(1, 1, 1, 1), enc_channels=(16, 32, 32, 64), enc_groups=(2, 4, 4, 8),
        grid_sizes=(0.1, 0.2, 0.4, 0.8), drop_path_rate=0.1),
    head=dict(type='TAPHead', depth=1),
    loss=dict(type='ViewLoss'))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10.0),
    constructor='FilterDecayOptimWrapperConstructor')  # authors: no decay on 1-d params
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, eta_min=1e-5, by_epoch=True,
                        begin=0, end=2, convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=2)
val_cfg = dict(type='ValLoop')
val_evaluator = dict(type='ViewMetric')
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=2, save_best=None))
