# Multi-label CAM classifiers of the pseudo-box detection experiment (issue #13) on the multi-object form of
# localisation benchmark v2 (5 shape classes, 64x64 images, 1-4 objects, same-appearance distractor shapes,
# texture / photo backgrounds). Image-level labels only (CocoImageLabels reads which classes occur); validated
# on the box-labelled selection split (mAP, its labels only), so the schedule is judged without the test split.
#   python tools/make_demo_data.py --root data/pseudo_box_v2/v2 --multi-object --num-train 3000 --num-test 600 \
#       --num-selection 100 --layouts coco
# The recipe is the WSOL comparison's (configs/wsol/_base_/bench_v2_matched.py): AdamW 1e-3, one cycle.
_base_ = ['../../embedded/_base_/shapes_multilabel_cls.py']

data_root = 'data/pseudo_box_v2/v2/coco/'
image_size = 64
num_classes = 5
max_epochs = 12

model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs')
]
train_dataloader = dict(batch_size=32, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, ann_file='annotations/instances_selection2017.json',
                                   data_prefix='selection2017/'))
test_dataloader = dict(
    batch_size=64, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CocoImageLabels', data_root=data_root, ann_file='annotations/instances_val2017.json',
                 data_prefix='val2017/', test_mode=True, pipeline={{_base_.test_pipeline}}))
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='OneCycleLR', eta_max=1e-3, pct_start=0.1, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=3)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2))
