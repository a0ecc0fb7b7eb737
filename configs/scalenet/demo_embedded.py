# Demo: a small ScaleNet (D2S2, 15 layers, 0.23M params) on the embedded synthetic data set
# (8 shape classes, 64x64 images, data/demo/imagenet in the ImageNet folder layout; generate it with
# `python tools/make_demo_data.py --root data/demo` or let `make demo` / tools/demo.py do it).
# Sized to train + test in a few minutes on 2 CPU cores: `python tools/train.py configs/scalenet/demo_embedded.py`.
_base_ = ['../_base_/default_runtime.py']

data_root = 'data/demo/imagenet'
input_size = 64  # image side (tools/get_flops.py reads it)
# the class names of scalenet_mm.datasets.SYNTHETIC_CLASSES (= data/demo/imagenet/meta/classes.txt)
classes = ['checker_blob', 'cross', 'disc', 'dotted_hexagon', 'ring', 'star', 'striped_square', 'triangle']

# 'demo-d2s2' (scalenet_mm.models.backbones.NAMED_ARCHS): a DoubleCouple stage (2 blocks, 32 channels, three
# scales) and a SingleCouple stage (2 blocks, 64 channels) joined by the interactive transition. The ImageNet stem
# (stride 4) suits the 64x64 images: the stages run at 16x16 and 8x8.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ScaleNet', arch='demo-d2s2'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=8,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
        init_cfg=dict(type='Kaiming', layer='Linear', mode='fan_in', nonlinearity='relu', distribution='normal',
                      bias=0),
    ),
)
data_preprocessor = dict(num_classes=8, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=64, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
# 10-crop test (pad 4, 4 corners + centre at 64x64, and their flips)
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='CropAt', crop_size=64, position=p, padding=4) for p in ('tl', 'tr', 'bl', 'br', 'center')],
        [dict(type='RandomFlip', prob=0.), dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='PackInputs')],
    ]),
]
tta_model = dict(type='AverageClsScoreTTA')

train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='train', ann_file='meta/train.txt',
                 classes=classes, pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
# the demo's "val" split is the generator's test split (no separate validation set)
val_dataloader = dict(
    batch_size=64,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='val', ann_file='meta/val.txt',
                 classes=classes, pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# Not the paper's SGD recipe: with 1200 images and 12 epochs AdamW converges much faster (measured: 47% vs 37%
# top-1 after 5 epochs); 1 warm-up epoch, then cosine decay
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=3e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, T_max=11, eta_min=1e-3, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
randomness = dict(seed=0)
