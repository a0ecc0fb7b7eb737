# CUB-200-2011 (real data) for WSOL: 224x224 training crops, whole-image 224x224 resize at test time so CAMs
# map back to the original frame (boxes / masks are evaluated in original pixels; the metric resizes CAMs).
# Layout: data/CUB_200_2011/{images,images.txt,...} and data/segmentations/ (optional, for PxAP).
custom_imports = dict(imports=['scalenet_mm'], allow_failed_imports=False)
default_scope = 'mmpretrain'

data_root = 'data/CUB_200_2011'
num_classes = 200
data_preprocessor = dict(
    num_classes=num_classes, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(224, 224)),
    dict(type='LoadWSOLMask'),
    dict(type='PackInputs', algorithm_keys=('gt_bboxes', 'gt_mask')),
]
train_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True,
    dataset=dict(type='CUBWithBoxes', data_root=data_root, split='train', with_mask=False,
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True,
    dataset=dict(type='CUBWithBoxes', data_root=data_root, split='test', with_mask=True,
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
size_buckets = dict(small=(0.0, 0.1), medium=(0.1, 0.3), large=(0.3, 1.0))
# eval_size bounds the contour-search cost for large originals (the reference protocol evaluates at 224)
val_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='WSOLMetric', eval_size=(224, 224), size_buckets=size_buckets),
]
test_evaluator = val_evaluator

# fine-tuning schedule: 50 epochs, the new CAM head learns 10x faster than the (pretrained) backbone
max_epochs = 50
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4, nesterov=True),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, T_max=max_epochs - 1, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CrashSafeCheckpointHook', interval=5, max_keep_ckpts=2, save_best='wsol/MaxBoxAccV2',
                    rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)
# Crash-safe training (scalenet_mm.engine, README "Training"): atomic checkpoints, resume from the newest readable
# one, exact resume (per-sample augmentation seeds, checkpointed random state, mid-epoch skip), save on SIGTERM.
runner_type = 'CrashSafeRunner'
custom_hooks = [dict(type='ExactResumeHook'), dict(type='PreemptionHook')]
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
visualizer = dict(type='UniversalVisualizer', vis_backends=[dict(type='LocalVisBackend')])
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
