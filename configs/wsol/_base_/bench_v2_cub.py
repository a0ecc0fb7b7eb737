# Localisation benchmark v2 (scalenet_mm.datasets.localization_benchmark) in the CUB-200-2011 layout: 5 shape
# classes, 64x64 images, one labelled object among same-appearance distractors, photo / texture backgrounds.
# Generate it with: python tools/make_demo_data.py --root data/bench_v2 --num-train 3000 --layouts cub
# The box-labelled selection split (for choosing CAM method / layer / threshold) is
# CUBWithBoxes(data_root=data_root, split='selection'); the test split is only for the final numbers.
_base_ = ['./demo_cub.py']

data_root = 'data/bench_v2/cub'
num_classes = 5
max_epochs = 30

data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
selection_dataloader = dict(
    batch_size=50, num_workers=0,
    dataset=dict(type='CUBWithBoxes', data_root=data_root, split='selection', with_mask=True,
                 pipeline={{_base_.test_pipeline}}),
    sampler=dict(type='DefaultSampler', shuffle=False))

# buckets of about equal count (largest GT box area / image area), see localization_benchmark.SIZE_BUCKETS
size_buckets = dict(small=(0.0, 0.08), medium=(0.08, 0.23), large=(0.23, 1.0))
val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='WSOLMetric', size_buckets=size_buckets),
]
test_evaluator = val_evaluator

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, T_max=max_epochs - 1, eta_min=1e-4,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
