# RetinaNet + FPN with a ScaleNet-54 D4D5S5 (vo21) backbone,
# Pascal VOC 07+12 (mmdet's 4 epochs x 3 repeats).
# Self-contained (``mmdet::`` base + ``custom_imports``); backbone from a classification checkpoint
# (see README "Detection" for how to produce ``pretrained``).
_base_ = 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'

custom_imports = dict(imports=['scalenet_mm'], allow_failed_imports=False)
default_scope = 'mmdet'
# Crash-safe training (scalenet_mm.engine, README "Training"): atomic checkpoints, resume from the newest readable
# one, exact resume (per-sample augmentation seeds, checkpointed random state, mid-epoch skip), save on SIGTERM.
runner_type = 'CrashSafeRunner'
custom_hooks = [dict(type='ExactResumeHook'), dict(type='PreemptionHook')]
default_hooks = dict(checkpoint=dict(type='CrashSafeCheckpointHook'))

pretrained = 'checkpoints/scalenet_vo21_imagenet.pth'  # noqa
model = dict(
    bbox_head=dict(num_classes=20),
    backbone=dict(
        _delete_=True,
        type='ScaleNet',
        arch='D4D5S5',
        # strides 4/8/16/32; RetinaNet's FPN starts at stride 8 (start_level=1), P6/P7 from P5
        out_indices=(1, 2, 3, 4),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(
        in_channels=[80, 160, 400, 1746],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_input',
        num_outs=5))
