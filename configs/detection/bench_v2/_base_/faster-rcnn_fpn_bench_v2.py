# Faster R-CNN + FPN of the pseudo-box detection experiment (issue #13) on the multi-object benchmark v2 (5
# classes, 64x64 images, objects of 13-38 px). A child config sets model.backbone and model.neck.in_channels. The
# same detector, schedule and backbone init serve the weak pipeline (pseudo-box annotation files), the
# no-learning control (saliency boxes) and the upper bound (true boxes): only train_dataloader.dataset.ann_file
# differs.
_base_ = ['../../embedded/_base_/faster-rcnn_fpn_shapes.py']

classes = ('cross', 'ring', 'square', 'star', 'triangle')  # localization_benchmark.SHAPE_CLASSES
data_root = 'data/pseudo_box_v2/v2/coco/'
image_size = 64
max_epochs = 12
batch_size = 16

model = dict(roi_head=dict(bbox_head=dict(num_classes=len(classes))))
# restated for the 64 px images: the base bakes its image size into its pipelines
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=batch_size,
                        dataset=dict(data_root=data_root, metainfo=dict(classes=classes), pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=dict(classes=classes), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json', classwise=True)
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, T_max=max_epochs, eta_min=1e-5,
         convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
