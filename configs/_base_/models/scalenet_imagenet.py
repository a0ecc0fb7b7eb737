# ScaleNet image classifier for ImageNet-1k (224x224 training crops). The backbone ends with the reference head's BN+ReLU, so
# the classifier is GAP + Linear; `head.in_channels` must equal ScaleNet(arch).arch.out_channels (each config
# sets both). Linear init as in the reference code: Kaiming normal (fan-in), bias 0.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ScaleNet', arch='imagenet_d4d5s5'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1746,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
        init_cfg=dict(type='Kaiming', layer='Linear', mode='fan_in', nonlinearity='relu', distribution='normal',
                      bias=0),
    ),
)
