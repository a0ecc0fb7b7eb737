# Multi-label CAM classifier (ResNet-18, GAP + linear) on the image-level labels of the embedded
# multi-object set: the label set of an image is the set of classes present in it, read from the COCO train
# annotations by ``CocoImageLabels`` (boxes are never used). Its classic CAMs give the pseudo-boxes of
# tools/cam_to_coco.py, and its backbone initialises faster-rcnn_r18_fpn_shapes.py.
# CAM resolution: layer4 with stride 1 (dilation 1) -> stride 16 (6x6 maps on 96x96 images); the weights
# are shape-identical to a standard stride-32 ResNet-18, so the detector (strides 4..32) loads them as is.
_base_ = ['./_base_/shapes_multilabel_cls.py']

model = dict(
    backbone=dict(type='ResNet', depth=18, strides=(1, 2, 2, 1), out_indices=(3, )),
    head=dict(in_channels=512))
