# Faster R-CNN + FPN with ResNet-18 at base_channels=20 (1.1 M backbone parameters, as ScaleNet tiny-d2d3),
# plain strides 4 / 8 / 16 / 32, channels 20 / 40 / 80 / 160, a 64-channel stem as mmpretrain's. Loads the
# dilated classifier's backbone (cls_r18-20-s8_bench-v2-multilabel.py): dilation does not change the weights.
_base_ = ['./_base_/faster-rcnn_fpn_bench_v2.py']

model = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=18, base_channels=20, stem_channels=64, num_stages=4,
                  out_indices=(0, 1, 2, 3),
                  frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, style='pytorch',
                  init_cfg=None),
    neck=dict(in_channels=[20, 40, 80, 160]))
