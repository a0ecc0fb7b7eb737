# Small ScaleNet (one D stage of 8 blocks, ~0.7 M parameters, ScaleNet103-like "D" layout) with a CAM head
# on the head input (stride 8: 8x8 maps for 64x64 images) on the embedded CUB-layout set. CPU: a few minutes.
#   python tools/make_demo_data.py --root data/demo --layouts cub
#   python tools/train.py configs/wsol/scalenet_demo_cub.py      (or tools/wsol_experiment.py)
#   python tools/wsol_eval.py configs/wsol/scalenet_demo_cub.py work_dirs/.../epoch_12.pth --multi-scale 32,48,64,96,128
_base_ = ['./_base_/demo_cub.py']

# 'wsol-d8' (scalenet_mm.models.backbones.NAMED_ARCHS): vo69 (ScaleNet103-D25) shrunk, 8 blocks instead of 25,
# width 48, head input 48+352=400 channels.
model = dict(
    type='ImageClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    # level 1 (stage1, stride 4: 16x16) is also computed so gradient CAMs can use it; the head reads the last.
    backbone=dict(type='ScaleNet', arch='wsol-d8', out_indices=(-1, )),
    neck=None,
    head=dict(type='CAMHead', num_classes={{_base_.num_classes}}, in_channels=400, in_index=-1,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
