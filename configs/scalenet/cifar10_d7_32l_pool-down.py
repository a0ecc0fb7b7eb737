# Table 4 "C": pooling + conv down-sampling (C) with the deconvolution up-sampling (B).
_base_ = ['./cifar10_d7_32l.py']
model = dict(backbone=dict(downsample='pool'))
