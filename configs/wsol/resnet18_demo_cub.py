# Baseline for the embedded-set WSOL experiment: mmpretrain ResNet-18 with base_channels=16 (~0.72 M
# parameters, comparable to scalenet_demo_cub.py) and the same CAM head on layer4 (stride 32: 2x2 maps for
# 64x64 images). Same data, schedule and budget as the ScaleNet config.
_base_ = ['./_base_/demo_cub.py']

model = dict(
    type='ImageClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='ResNet', depth=18, base_channels=16, out_indices=(3, )),
    neck=None,
    head=dict(type='CAMHead', num_classes={{_base_.num_classes}}, in_channels=128, in_index=-1,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
