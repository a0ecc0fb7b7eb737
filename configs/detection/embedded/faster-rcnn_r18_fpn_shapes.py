# ResNet-18 counterpart of faster-rcnn_scalenet-tiny_fpn_shapes.py (same detector, data and
# schedule) on the embedded multi-object shapes set (8 classes, 96x96 images, 1-4 objects each).
# Evaluated with mmdet's CocoMetric (pycocotools) against the true val2017 boxes.
#
# Data:  python tools/make_demo_data.py --root data/demo_det --multi-object --image-size 96 \
#            --num-train 600 --num-test 150 --layouts coco
# Train: python tools/pseudo_box_experiment.py (whole comparison) or any mmengine runner on this file.
# Pseudo-boxes instead of true boxes: --cfg-options train_dataloader.dataset.ann_file=<pseudo json>
# Backbone from the CAM classifier (cls_r18_shapes-multilabel.py): set model.backbone.init_cfg to
#   dict(type='Pretrained', checkpoint=<classifier .pth>, prefix='backbone.')  (the experiment script does).
_base_ = './_base_/faster-rcnn_fpn_shapes.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),  # random init (see the header for starting from the CAM classifier)
    neck=dict(in_channels=[64, 128, 256, 512]))
