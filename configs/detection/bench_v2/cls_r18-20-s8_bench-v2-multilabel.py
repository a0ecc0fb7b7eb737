# mmpretrain ResNet-18 at base_channels=20 (1.1 M parameters, matching ScaleNet tiny-d2d3), layer3 / layer4 kept
# at stride 8 by dilation so that its CAMs are 8x8 at 64 px like ScaleNet's. Dilation does not change the
# weights: faster-rcnn_r18-20_fpn_bench-v2.py (plain strides) loads this backbone.
_base_ = ['./_base_/multilabel_cls_bench_v2.py']

model = dict(backbone=dict(type='ResNet', depth=18, base_channels=20, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                           out_indices=(3, )),
             head=dict(in_channels=160))
