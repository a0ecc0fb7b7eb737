# ScaleNet103 (D25) + CAM head on ImageNet, WSOL evaluated on val boxes. Start from the converted ImageNet
# classifier (`pretrained` below, see scalenet103_cub.py) and fine-tune the CAM head (20 epochs); or evaluate
# the gradient methods directly on a converted classifier with tools/wsol_eval.py --method gradcam.
_base_ = ['./_base_/imagenet_wsol.py']

pretrained = None  # e.g. 'work_dirs/converted/scalenet103.pth' (tools/convert_original_checkpoint.py)
_init = dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')) if pretrained else {}
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(num_classes=1000, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True),
    backbone=dict(type='ScaleNet', arch='vo69', out_indices=(-1, ), **_init),
    neck=None,
    head=dict(type='CAMHead', num_classes=1000, in_channels=1100, cam_output='gt',
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
