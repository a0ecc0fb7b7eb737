# ScaleNet 'tiny-d2d3' (1.10 M parameters) with a CAM head on its head input (stride 8: 8x8 maps at 64 px) on
# benchmark v2, the ScaleNet of the matched-parameter comparison (configs/wsol/_base_/bench_v2_matched.py).
_base_ = ['./_base_/bench_v2_matched.py']

model = dict(
    type='ImageClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='ScaleNet', arch='tiny-d2d3', out_indices=(-1, )),
    neck=None,
    head=dict(type='CAMHead', num_classes={{_base_.num_classes}}, in_channels=96, in_index=-1,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
