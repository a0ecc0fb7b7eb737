# Table 4 "C+D": pooling + conv down-sampling (C) and interpolation + conv up-sampling (D).
_base_ = ['./cifar10_d7_32l.py']
model = dict(backbone=dict(downsample='pool', upsample='interp'))
