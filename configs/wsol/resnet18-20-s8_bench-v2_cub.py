# The resolution-matched twin of resnet18-20_bench-v2_cub.py: layer3 and layer4 kept at stride 8 (strides
# (1, 2, 1, 1), dilations (1, 1, 2, 4)), so the CAM head sees 8x8 maps at 64 px like the ScaleNet. Same parameters.
_base_ = ['./resnet18-20_bench-v2_cub.py']

model = dict(backbone=dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)))
