# Faster R-CNN + FPN with a tiny two-stage ScaleNet on the embedded multi-object shapes set (8 classes,
# 96x96 images, 1-4 objects each). Trains on 1-2 CPU cores in a few minutes; evaluated with mmdet's
# CocoMetric (pycocotools) against the true val2017 boxes.
#
# Data:  python tools/make_demo_data.py --root data/demo_det --multi-object --image-size 96 \
#            --num-train 600 --num-test 150 --layouts coco
# Train: python tools/pseudo_box_experiment.py (whole comparison) or any mmengine runner on this file.
# Pseudo-boxes instead of true boxes: --cfg-options train_dataloader.dataset.ann_file=<pseudo json>
# Backbone from the CAM classifier (cls_scalenet-tiny_shapes-multilabel.py): set model.backbone.init_cfg to
#   dict(type='Pretrained', checkpoint=<classifier .pth>, prefix='backbone.')  (the experiment script does).
_base_ = './_base_/faster-rcnn_fpn_shapes.py'

# The tiny ScaleNet: stride-4 stem, stage 1 (2 D blocks, stride 4), stage 2 (3 D blocks, stride 8). The
# within-block maps of stage 2's last block give strides 16 and 32 (ScaleNet's multi-scale blocks), so a
# two-stage net feeds a 4-level FPN: channels 32/96/96/96 at strides 4/8/16/32. The same arch is the CAM
# classifier's backbone (its CAMs come from the stride-8 head input).
scalenet_tiny = 'tiny-d2d3'  # scalenet_mm.models.backbones.NAMED_ARCHS

model = dict(
    backbone=dict(
        _delete_=True,
        type='ScaleNet',
        arch=scalenet_tiny,
        out_indices=(1, 2, 'stage2.a3', 'stage2.a2'),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        deconv_impl='phase',  # same weights as 'native', faster on CPU
        init_cfg=None),  # random init (see the header for starting from the CAM classifier)
    neck=dict(in_channels=[32, 96, 96, 96]))
