# Runtime defaults shared by every tap3d config.
default_scope = 'tap3d'
# mmengine's Runner with strict checkpoint loading (tap3d/engine/runner.py)
runner_type = 'Tap3DRunner'
# a checkpoint holding keys the model lacks is refused unless this is True
# (tools: --allow-unexpected-keys); a missing key or shape always fails
load_cfg = dict(allow_unexpected_keys=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # exact resume (RNG streams) and weights_only-safe checkpoints
    safe_resume=dict(type='SafeResumeHook'),
    # stop at the first non-finite loss; never save non-finite weights
    finite_check=dict(type='FiniteCheckHook'),
    # TAP runs: the mean-view baseline beside every ViewMetric (a no-op otherwise)
    view_baseline=dict(type='MeanViewBaselineHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # a rank that stalls makes the others fail after `timeout` seconds instead of
    # torch's 30 min default; the tools report it in one line
    dist_cfg=dict(backend='nccl', timeout=600),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
# training losses smoothed over 50 iterations; validation/test metrics logged exactly
log_processor = dict(type='ExactEvalLogProcessor', window_size=50, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)

# DDP that also works for CPU models (gloo), see tap3d/engine/distributed.py.
model_wrapper_cfg = dict(type='tap3d.DeviceAgnosticDDP')
