# Small ScaleNet (one D stage of 8 blocks, ~0.7 M parameters, the model of scalenet_demo_cub.py) with a CAM head
# on localisation benchmark v2 (configs/wsol/_base_/bench_v2_cub.py).
#   python tools/make_demo_data.py --root data/bench_v2 --num-train 3000 --layouts cub
#   python tools/train.py configs/wsol/scalenet_bench-v2_cub.py
_base_ = ['./_base_/bench_v2_cub.py']

scalenet_arch = dict(stages=1, depth=48, layers=(8, ), blocks=('D', ), slink=('A', ), growth=(0, ), expand=(),
                     dfunc=(), dstyle=('maxpool', 'convk2m', 'convk2'), rock='N', branch=1, last_down=True,
                     last_dfuc='E', last_expand=352, version=3, stem='imagenet')
model = dict(
    type='ImageClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='ScaleNet', arch=scalenet_arch, out_indices=(-1, )),
    neck=None,
    head=dict(type='CAMHead', num_classes={{_base_.num_classes}}, in_channels=400, in_index=-1,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
