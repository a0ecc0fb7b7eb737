# RetinaNet + FPN with the single-stage ScaleNet-103 D25 (authors' id vo69),
# Pascal VOC 07+12 (mmdet's 4 epochs x 3 repeats).
#
# D25 has one stage, so its multi-scale pyramid comes from inside the last block and the head:
#   'stage1.y'  64 ch, stride 4   (block output, unused by RetinaNet's P3-P7)
#   2           1100 ch, stride 8 (head input: after the last-down unit + output BN/ReLU)
#   'stage1.a2' 64 ch, stride 16  (the 4x down-sampled map inside the last D block)
# ('stage1.a3', 64 ch at stride 8, is superseded at stride 8 by the much richer head input.)
# RetinaNet uses P3..P7: the head input -> P3, stage1.a2 -> P4, P5..P7 by stride-2 convs on P4.
_base_ = 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'

custom_imports = dict(imports=['scalenet_mm'], allow_failed_imports=False)
default_scope = 'mmdet'
# Crash-safe training (scalenet_mm.engine, README "Training"): atomic checkpoints, resume from the newest readable
# one, exact resume (per-sample augmentation seeds, checkpointed random state, mid-epoch skip), save on SIGTERM.
runner_type = 'CrashSafeRunner'
custom_hooks = [dict(type='ExactResumeHook'), dict(type='PreemptionHook')]
default_hooks = dict(checkpoint=dict(type='CrashSafeCheckpointHook'))

pretrained = 'checkpoints/scalenet_vo69_imagenet.pth'  # noqa
model = dict(
    bbox_head=dict(num_classes=20),
    backbone=dict(
        _delete_=True,
        type='ScaleNet',
        arch='D25',
        out_indices=(2, 'stage1.a2'),
        # D25's only stage is the whole trunk: frozen_stages=1 would freeze everything, so freeze the stem
        # (the analogue of frozen_stages=1 for ResNet / D4D5S5: the stride-4 layers)
        frozen_stages=0,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(
        in_channels=[1100, 64],
        out_channels=256,
        start_level=0,
        add_extra_convs='on_output',
        num_outs=5))
