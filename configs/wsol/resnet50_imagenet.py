# ResNet-50 (layer4 stride 1, 14x14 maps) + CAM head on ImageNet: the baseline of scalenet103_imagenet.py.
_base_ = ['./_base_/imagenet_wsol.py']

pretrained = None  # e.g. 'torchvision://resnet50'
_init = dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained)) if pretrained else {}
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(num_classes=1000, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True),
    backbone=dict(type='ResNet', depth=50, strides=(1, 2, 2, 1), out_indices=(3, ), **_init),
    neck=None,
    head=dict(type='CAMHead', num_classes=1000, in_channels=2048,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
