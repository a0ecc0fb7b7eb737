# Faster R-CNN + FPN with ScaleNet 'tiny-d2d3' (the CAM classifier's backbone): strides 4 / 8 from the stages,
# 16 / 32 from the multi-scale maps inside stage 2's last block, channels 32 / 96 / 96 / 96. Set
# model.backbone.init_cfg = dict(type='Pretrained', checkpoint=<classifier .pth>, prefix='backbone.') to start
# from the classifier (tools/pseudo_box_v2.py does).
_base_ = ['./_base_/faster-rcnn_fpn_bench_v2.py']

model = dict(
    backbone=dict(_delete_=True, type='ScaleNet', arch='tiny-d2d3', out_indices=(1, 2, 'stage2.a3', 'stage2.a2'),
                  frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                  deconv_impl='phase', init_cfg=None),
    neck=dict(in_channels=[32, 96, 96, 96]))
