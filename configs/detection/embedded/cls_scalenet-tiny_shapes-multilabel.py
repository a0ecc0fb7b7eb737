# Multi-label CAM classifier (tiny ScaleNet, GAP + linear) on the image-level labels of the embedded
# multi-object set: the label set of an image is the set of classes present in it, read from the COCO train
# annotations by ``CocoImageLabels`` (boxes are never used). Its classic CAMs give the pseudo-boxes of
# tools/cam_to_coco.py, and its backbone initialises faster-rcnn_scalenet-tiny_fpn_shapes.py.
# CAM resolution: the head input of this arch has stride 8 (12x12 maps on 96x96 images).
_base_ = ['./_base_/shapes_multilabel_cls.py']

scalenet_tiny = 'tiny-d2d3'  # scalenet_mm.models.backbones.NAMED_ARCHS (shared with the detector)
model = dict(
    backbone=dict(type='ScaleNet', arch=scalenet_tiny, out_indices=(-1, ), deconv_impl='phase'),
    head=dict(in_channels=96))
