# Runtime shared by every scalenet_mm classification config (mmengine Runner, mmpretrain scope).
default_scope = 'mmpretrain'
custom_imports = dict(imports=['scalenet_mm'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # keep the latest 3 epochs + the best validation checkpoint ('auto' = the first metric); crash-safe: atomic
    # writes, relative last_checkpoint, resume skips an unreadable latest checkpoint (scalenet_mm.engine)
    checkpoint=dict(type='CrashSafeCheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)

# Exact resume (README "Training"): the crash-safe loops seed augmentations per (seed, epoch, sample) and skip
# the batches already trained on; the hooks checkpoint the random state and save + exit on SIGTERM.
runner_type = 'CrashSafeRunner'
custom_hooks = [dict(type='ExactResumeHook'), dict(type='PreemptionHook')]

# nccl on GPUs; tools/train.py switches to gloo when --launcher is used on a machine without CUDA
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_processor = dict(by_epoch=True, window_size=20)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
