# CIFAR-10 as in the paper (Sec. IV-A): the official 50k train images split 45k train / 5k val (the last 5k),
# pad-4 random 32x32 crop + horizontal flip, single-view test on the official 10k test set.
# Data: data/cifar10/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta} (the extracted
# cifar-10-python.tar.gz); CIFAR10Local validates the files and says what is missing.
dataset_type = 'CIFAR10Local'
data_root = 'data/cifar10'
# the authors' CIFAR normalisation (images are RGB already, so no channel swap)
data_preprocessor = dict(num_classes=10, mean=[125.3, 123.0, 113.9], std=[63.0, 62.1, 66.7], to_rgb=False)

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
# `tools/test.py --tta`: 10 views = pad 4 -> 4 corner + centre 32x32 crops, each also flipped; softmax averaged
tta_pipeline = [
    dict(type='TestTimeAug', transforms=[
        [dict(type='CropAt', crop_size=32, position=p, padding=4) for p in ('tl', 'tr', 'bl', 'br', 'center')],
        [dict(type='RandomFlip', prob=0.), dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='PackInputs')],
    ])
]
tta_model = dict(type='AverageClsScoreTTA')

train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', num_val=5000, pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='val', num_val=5000, pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_evaluator = val_evaluator
