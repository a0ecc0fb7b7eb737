# Table 5 baseline: ScaleNet32-D7 "without any skip-connections" (the backbone both skip variants extend).
_base_ = ['./cifar10_d7_32l.py']
model = dict(backbone=dict(residual='none'))
