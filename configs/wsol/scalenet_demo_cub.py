# Small ScaleNet (one D stage of 8 blocks, ~0.7 M parameters, ScaleNet103-like "D" layout) with a CAM head
# on the head input (stride 8: 8x8 maps for 64x64 images) on the embedded CUB-layout set. CPU: a few minutes.
#   python tools/make_demo_data.py --root data/demo --layouts cub
#   python tools/train.py configs/wsol/scalenet_demo_cub.py      (or tools/wsol_experiment.py)
#   python tools/wsol_eval.py configs/wsol/scalenet_demo_cub.py work_dirs/.../epoch_12.pth --multi-scale 32,48,64,96,128
_base_ = ['./_base_/demo_cub.py']

# vo69 (ScaleNet103-D25) shrunk: 8 blocks instead of 25, width 48, head input 48+352=400 channels.
scalenet_arch = dict(stages=1, depth=48, layers=(8, ), blocks=('D', ), slink=('A', ), growth=(0, ), expand=(),
                     dfunc=(), dstyle=('maxpool', 'convk2m', 'convk2'), rock='N', branch=1, last_down=True,
                     last_dfuc='E', last_expand=352, version=3, stem='imagenet')
model = dict(
    type='ImageClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    # level 1 (stage1, stride 4: 16x16) is also computed so gradient CAMs can use it; the head reads the last.
    backbone=dict(type='ScaleNet', arch=scalenet_arch, out_indices=(-1, )),
    neck=None,
    head=dict(type='CAMHead', num_classes={{_base_.num_classes}}, in_channels=400, in_index=-1,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
