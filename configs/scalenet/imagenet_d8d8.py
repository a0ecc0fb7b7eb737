# ScaleNet68-D8D8 (Table 2 row 2): 10.1M params, 4.8 GFLOPs (the code gives 4.74)
# Preset 'imagenet_d8d8' (authors' id vo37). Train: python tools/train.py configs/scalenet/imagenet_d8d8.py
# Paper recipe = authors' code here (spec 13.12): SGD 0.1 / 0.9 / wd 1e-4, batch 256, lr / 10 every 30 epochs,
# 100 epochs. Test 224 from 256; Table 2 reports 320 from 350: configs/scalenet/imagenet_d8d8_test320.py.
_base_ = [
    '../_base_/models/scalenet_imagenet.py',
    '../_base_/datasets/imagenet_bs64.py',
    '../_base_/schedules/imagenet_bs256_100e.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='imagenet_d8d8'), head=dict(in_channels=512))
