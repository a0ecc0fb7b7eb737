# ScaleNet54-D4D5S5 (Table 2 row 6): 25.0M params, 4.6 GFLOPs, tested as in Table 2 of the paper: 320x320 centre crop (or 10 crops) from the 350 image.
_base_ = ['./imagenet_d4d5s5.py', '../_base_/datasets/imagenet_test320.py']
test_pipeline = {{_base_.test_pipeline_320}}
tta_pipeline = {{_base_.tta_pipeline_320}}
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
