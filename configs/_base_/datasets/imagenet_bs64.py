# ImageNet-1k as in the paper (Sec. IV-A): RandomResizedCrop 224 (area 0.08-1, aspect 3/4-4/3) + horizontal
# flip + colour augmentation (ColorJitter 0.4 and AlexNet PCA lighting 0.1, as in the PyTorch/fb.resnet
# recipes the paper refers to) + mean/std normalisation; test: short side 256 -> centre 224 crop (Fig. 4).
# 64 images per GPU x 4 GPUs = the paper's batch of 256.
# Data: data/imagenet/{train/<wnid>/*.JPEG, val/..., meta/val.txt (and optionally meta/train.txt)}.
dataset_type = 'ImageNetLocal'
data_root = 'data/imagenet'
data_preprocessor = dict(
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,  # images are decoded as BGR
)
# AlexNet PCA lighting constants in BGR order (Lighting(to_rgb=False) works on the BGR image)
_eigval = [55.46, 4.794, 1.148]
_eigvec = [[-0.5836, -0.6948, 0.4203], [-0.5808, -0.0045, -0.8140], [-0.5675, 0.7192, 0.4009]]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0), aspect_ratio_range=(3. / 4., 4. / 3.),
         backend='pillow', interpolation='bilinear'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='Lighting', eigval=_eigval, eigvec=_eigvec, alphastd=0.1, to_rgb=False),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow', interpolation='bilinear'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
# `tools/test.py --tta`: the paper's 10-crop test (4 corners + centre of the 256 image, and their flips)
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow', interpolation='bilinear'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='CropAt', crop_size=224, position=p) for p in ('tl', 'tr', 'bl', 'br', 'center')],
        [dict(type='RandomFlip', prob=0.), dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='PackInputs')],
    ]),
]
tta_model = dict(type='AverageClsScoreTTA')

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))
# ImageNet has no public test labels: the paper reports the 50k val images ("ImageNet-1k val")
test_dataloader = val_dataloader
test_evaluator = val_evaluator
