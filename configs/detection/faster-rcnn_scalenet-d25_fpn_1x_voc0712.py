# Faster R-CNN + FPN with the single-stage ScaleNet-103 D25 (vo69) and its high-resolution outputs,
# Pascal VOC 07+12 (mmdet's 4 epochs x 3 repeats).
#
# Pyramid inputs (strides 4, 8, 16):
#   'stage1.y'  64 ch, stride 4   (output of the last D block)
#   2           1100 ch, stride 8 (head input: after the last-down unit + output BN/ReLU)
#   'stage1.a2' 64 ch, stride 16  (the 4x down-sampled map inside the last D block)
# FPN adds P5/P6 (strides 32/64) by max-pooling, matching the RPN anchor strides 4..64.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'

custom_imports = dict(imports=['scalenet_mm'], allow_failed_imports=False)
default_scope = 'mmdet'
# Crash-safe training (scalenet_mm.engine, README "Training"): atomic checkpoints, resume from the newest readable
# one, exact resume (per-sample augmentation seeds, checkpointed random state, mid-epoch skip), save on SIGTERM.
runner_type = 'CrashSafeRunner'
custom_hooks = [dict(type='ExactResumeHook'), dict(type='PreemptionHook')]
default_hooks = dict(checkpoint=dict(type='CrashSafeCheckpointHook'))

pretrained = 'checkpoints/scalenet_vo69_imagenet.pth'  # noqa
model = dict(
    roi_head=dict(bbox_head=dict(num_classes=20)),
    backbone=dict(
        _delete_=True,
        type='ScaleNet',
        arch='D25',
        out_indices=('stage1.y', 2, 'stage1.a2'),
        # the single stage is the whole trunk: freeze the stem only (analogue of frozen_stages=1 elsewhere)
        frozen_stages=0,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[64, 1100, 64], out_channels=256, num_outs=5))
