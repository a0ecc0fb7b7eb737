# mmpretrain ResNet-18 at base_channels=20 (1.11 M parameters, matching scalenet-tiny-d2d3_bench-v2_cub.py) with
# the same CAM head on layer4 (stride 32: 2x2 maps at 64 px), same data, recipe and budget.
_base_ = ['./_base_/bench_v2_matched.py']

model = dict(
    type='ImageClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='ResNet', depth=18, base_channels=20, out_indices=(3, ), zero_init_residual=False),
    neck=None,
    head=dict(type='CAMHead', num_classes={{_base_.num_classes}}, in_channels=160, in_index=-1,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
