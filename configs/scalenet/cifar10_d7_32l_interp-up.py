# Table 4 "A+D": stride-2 conv down-sampling (A) with nearest interpolation + conv up-sampling (D)
# instead of deconvolutions (B). Table 4's own models (D30, D5D8S10, ...) have no published arch dicts, so
# the ablation is applied to ScaleNet32-D7.
_base_ = ['./cifar10_d7_32l.py']
model = dict(backbone=dict(upsample='interp'))
