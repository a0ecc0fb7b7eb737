# ScaleNet 'tiny-d2d3' (1.1 M parameters) multi-label CAM classifier; CAMs from its stride-8 head input (8x8 at
# 64 px). Its backbone initialises faster-rcnn_scalenet-tiny-d2d3_fpn_bench-v2.py.
_base_ = ['./_base_/multilabel_cls_bench_v2.py']

model = dict(backbone=dict(type='ScaleNet', arch='tiny-d2d3', out_indices=(-1, ), deconv_impl='phase'),
             head=dict(in_channels=96))
