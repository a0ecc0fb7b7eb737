# ResNet-50 baseline for WSOL on CUB-200-2011 (mmpretrain ResNet). As in the usual CAM baseline, layer4 keeps
# stride 1 (strides=(1, 2, 2, 1)): 2048 x 14 x 14 class maps at 224x224 (stride 16). Same CAM head and recipe
# as scalenet103_cub.py.
_base_ = ['./_base_/cub_224.py']

# Optional ImageNet initialisation (set to e.g. 'torchvision://resnet50' or a local mmpretrain checkpoint;
# needs the file or network access). None trains from scratch.
pretrained = None
_init = dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')) if pretrained else {}
if pretrained and pretrained.startswith('torchvision://'):
    _init = dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained))  # torchvision keys have no prefix

model = dict(
    type='ImageClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='ResNet', depth=50, strides=(1, 2, 2, 1), out_indices=(3, ), **_init),
    neck=None,
    head=dict(type='CAMHead', num_classes=200, in_channels=2048,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
