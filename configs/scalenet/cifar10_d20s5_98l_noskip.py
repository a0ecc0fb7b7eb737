# Table 5 baseline: ScaleNet98-D20S5 without any skip-connections.
_base_ = ['./cifar10_d20s5_98l.py']
model = dict(backbone=dict(residual='none'))
