# Embedded synthetic set in the CUB-200-2011 layout (8 classes, 64x64 images, one object per image).
# Generate it with: python tools/make_demo_data.py --root data/demo --layouts cub
# Shared by scalenet_demo_cub.py and resnet18_demo_cub.py: data, schedule, runtime (CPU, minutes).
custom_imports = dict(imports=['scalenet_mm'], allow_failed_imports=False)
default_scope = 'mmpretrain'

data_root = 'data/demo/cub'
num_classes = 8
image_size = 64
max_epochs = 12
batch_size = 32

data_preprocessor = dict(
    num_classes=num_classes, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=image_size, crop_ratio_range=(0.6, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
# WSOL evaluation is done in the original image frame: whole-image resize only (no crop), boxes and masks
# are packed untouched and the metric resizes the CAMs to `ori_shape`.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size)),
    dict(type='LoadWSOLMask'),
    dict(type='PackInputs', algorithm_keys=('gt_bboxes', 'gt_mask')),
]

train_dataloader = dict(
    batch_size=batch_size, num_workers=0,
    dataset=dict(type='CUBWithBoxes', data_root=data_root, split='train', with_mask=False,
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=50, num_workers=0,
    dataset=dict(type='CUBWithBoxes', data_root=data_root, split='test', with_mask=True,
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader

size_buckets = dict(small=(0.0, 0.1), medium=(0.1, 0.3), large=(0.3, 1.0))
val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='WSOLMetric', size_buckets=size_buckets),
]
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, T_max=max_epochs - 1, eta_min=1e-4,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=batch_size)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CrashSafeCheckpointHook', interval=max_epochs, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)
# Crash-safe training (scalenet_mm.engine, README "Training"): atomic checkpoints, resume from the newest readable
# one, exact resume (per-sample augmentation seeds, checkpointed random state, mid-epoch skip), save on SIGTERM.
runner_type = 'CrashSafeRunner'
custom_hooks = [dict(type='ExactResumeHook'), dict(type='PreemptionHook')]
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='gloo'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
