# ScaleNet103 (D25, authors' vo69) + CAM head on CUB-200-2011. The head input is BN+ReLU'd by the backbone and
# has stride 8: 1100 x 28 x 28 class maps at 224x224 (vs 7x7 for a standard ResNet).
#   python tools/train.py configs/wsol/scalenet103_cub.py
#   python tools/wsol_eval.py configs/wsol/scalenet103_cub.py work_dirs/scalenet103_cub/best_*.pth \
#       --multi-scale 64,128,224,256,320,448
_base_ = ['./_base_/cub_224.py']

# --- optional ImageNet initialisation -------------------------------------------------------------------------
# Convert the authors' ImageNet checkpoint first (python tools/convert_original_checkpoint.py ORIG.pth OUT.pth)
# and put its path here. The backbone weights are loaded ('backbone.' prefix); the CAM head is new either way.
# None (default) trains from scratch, which is far weaker on 6k CUB images. Note: --cfg-options cannot change
# this variable after parsing; there use
#   --cfg-options model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.checkpoint=OUT.pth \
#                 model.backbone.init_cfg.prefix=backbone.
pretrained = None
_init = dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')) if pretrained else {}

model = dict(
    type='ImageClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='ScaleNet', arch='vo69', out_indices=(-1, ), **_init),
    neck=None,
    head=dict(type='CAMHead', num_classes=200, in_channels=1100, dropout=0.0,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
