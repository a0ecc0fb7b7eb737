# ScaleNet54-D4D5S5 (Table 2 row 6): 25.0M params, 4.6 GFLOPs
# Preset 'imagenet_d4d5s5' (authors' id vo21). Train: python tools/train.py configs/scalenet/imagenet_d4d5s5.py
# Paper recipe = authors' code here (spec 13.12): SGD 0.1 / 0.9 / wd 1e-4, batch 256, lr / 10 every 30 epochs,
# 100 epochs. Test 224 from 256; Table 2 reports 320 from 350: configs/scalenet/imagenet_d4d5s5_test320.py.
_base_ = [
    '../_base_/models/scalenet_imagenet.py',
    '../_base_/datasets/imagenet_bs64.py',
    '../_base_/schedules/imagenet_bs256_100e.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='imagenet_d4d5s5'), head=dict(in_channels=1746))
