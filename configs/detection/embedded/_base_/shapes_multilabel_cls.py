# Shared by the multi-label CAM classifiers of the embedded multi-object set (cls_*_shapes-multilabel.py): the
# image-level labels (CocoImageLabels: the set of classes present, boxes never read), the GAP + multi-label
# linear head, the schedule and the runtime. A child config sets model.backbone and model.head.in_channels.
custom_imports = dict(imports=['scalenet_mm', 'scalenet_mm.detection'], allow_failed_imports=False)
default_scope = 'mmpretrain'

data_root = 'data/demo_det/coco/'
image_size = 96
max_epochs = 20
num_classes = 8

model = dict(
    type='ImageClassifier',
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=num_classes,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
# same normalisation as mmdet's DetDataPreprocessor, so the backbone transfers to the detectors
data_preprocessor = dict(
    num_classes=num_classes, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size)),  # no-op at the generated size
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size)),
    dict(type='PackInputs')
]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CocoImageLabels', data_root=data_root, ann_file='annotations/instances_train2017.json',
                 data_prefix='train2017/', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CocoImageLabels', data_root=data_root, ann_file='annotations/instances_val2017.json',
                 data_prefix='val2017/', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type='AveragePrecision'), dict(type='MultiLabelMetric', thr=0.5)]
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, T_max=max_epochs, eta_min=1e-5,
         convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CrashSafeCheckpointHook', interval=max_epochs, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False))
# Crash-safe training (scalenet_mm.engine, README "Training"): atomic checkpoints, resume from the newest readable
# one, exact resume (per-sample augmentation seeds, checkpointed random state, mid-epoch skip), save on SIGTERM.
runner_type = 'CrashSafeRunner'
custom_hooks = [dict(type='ExactResumeHook'), dict(type='PreemptionHook')]
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='gloo'))
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
