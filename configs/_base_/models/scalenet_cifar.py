# ScaleNet image classifier for 32x32 CIFAR images. The backbone ends with the reference head's BN+ReLU, so
# the classifier is GAP + Linear; `head.in_channels` must equal ScaleNet(arch).arch.out_channels (each config
# sets both). Linear init as in the reference code: Kaiming normal (fan-in), bias 0.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ScaleNet', arch='cifar10_d7_32l'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
        init_cfg=dict(type='Kaiming', layer='Linear', mode='fan_in', nonlinearity='relu', distribution='normal',
                      bias=0),
    ),
)
