# Resolution-matched baseline: resnet18_demo_cub.py with layer3 and layer4 kept at stride 8 (strides (1, 2, 1, 1),
# dilations (1, 1, 2, 4), as in dilated-ResNet CAM baselines). Same parameters (~0.72 M); the CAM head now sees
# 8x8 maps for 64x64 images, like the ScaleNet of scalenet_demo_cub.py (at ~4x the ResNet's FLOPs).
_base_ = ['./resnet18_demo_cub.py']

model = dict(backbone=dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)))
