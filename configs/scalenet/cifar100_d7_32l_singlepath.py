# Table 5 SinglePath on CIFAR-100: ScaleNet32-D7 with one inner skip per block (C100 error 29.09%).
_base_ = ['./cifar100_d7_32l.py']
model = dict(backbone=dict(residual='singlepath'))
