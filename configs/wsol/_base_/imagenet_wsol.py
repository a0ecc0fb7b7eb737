# ImageNet-1k for WSOL: train on the standard train split (mmpretrain ImageNet), evaluate on val with the
# ILSVRC2012 val boxes (VOC XMLs in data/imagenet/val_boxes/, see scalenet_mm.datasets.ImageNetWithBoxes).
_base_ = ['./cub_224.py']
data_root = 'data/imagenet'
num_classes = 1000
data_preprocessor = dict(num_classes=1000)
train_dataloader = dict(
    batch_size=64,
    dataset=dict(_delete_=True, type='ImageNet', data_root=data_root, split='train',
                 pipeline={{_base_.train_pipeline}}))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(224, 224)),
    dict(type='PackInputs', algorithm_keys=('gt_bboxes', )),
]
val_dataloader = dict(
    batch_size=64,
    dataset=dict(_delete_=True, type='ImageNetWithBoxes', data_root=data_root, split='val', bbox_dir='val_boxes',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
max_epochs = 20
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, T_max=19, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=20, val_interval=2)
auto_scale_lr = dict(base_batch_size=64)
