"""Batch-norm folding for inference: BN statistics become a per-channel scale and shift.

* ``conv -> BN`` (ScaleNet's stem, and its last down-sampling conv before the output norm): the BN folds into
  the conv's weight and bias, so it costs nothing at run time.
* ``BN -> ReLU -> conv`` (the pre-activation units of every ScaleNet block): the ReLU sits between BN and conv,
  so nothing folds; :class:`AffineReLU` computes ``relu(x * scale + shift)`` in two passes over the map
  instead of the three-plus-bookkeeping of an eval-mode ``BatchNorm2d`` followed by ``ReLU``.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ['bn_scale_shift', 'fold_bn_into_conv', 'has_running_stats', 'AffineReLU']


def has_running_stats(norm: Optional[nn.Module]) -> bool:
    """Whether ``norm`` is a batch norm whose eval-mode output is a fixed per-channel affine map."""
    return isinstance(norm, _BatchNorm) and norm.track_running_stats and norm.running_mean is not None


def bn_scale_shift(bn: nn.Module) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(scale, shift)`` with ``bn(x) == x * scale + shift`` per channel, for an eval-mode BN."""
    if not has_running_stats(bn):
        raise TypeError(f'only batch norms with running statistics fold for inference, got {type(bn).__name__} '
                        '(GroupNorm/SyncBN-without-stats models cannot use the deploy path)')
    with torch.no_grad():
        scale = torch.rsqrt(bn.running_var + bn.eps)
        if bn.weight is not None:
            scale = scale * bn.weight
        shift = -bn.running_mean * scale
        if bn.bias is not None:
            shift = shift + bn.bias
    return scale.detach().clone(), shift.detach().clone()


def fold_bn_into_conv(conv: nn.Conv2d, bn: nn.Module) -> nn.Conv2d:
    """A new, frozen ``nn.Conv2d`` equal to ``bn(conv(x))`` in eval mode (their weights are not modified)."""
    if type(conv) is not nn.Conv2d:
        raise TypeError(f'expected an nn.Conv2d, got {type(conv).__name__}')
    channels = bn_scale_shift(bn)[0].numel()  # also rejects norms without running statistics
    if channels != conv.out_channels:
        raise ValueError(f'BN has {channels} channels but the conv has {conv.out_channels} outputs')
    fused = fuse_conv_bn_eval(conv.eval(), bn.eval())
    fused.requires_grad_(False)
    return fused


class AffineReLU(nn.Module):
    """``relu(bn(x))`` of an eval-mode BN, as one ``addcmul`` plus an in-place ReLU; inference only."""

    def __init__(self, bn: nn.Module) -> None:
        super().__init__()
        scale, shift = bn_scale_shift(bn)
        self.register_buffer('scale', scale.view(1, -1, 1, 1))
        self.register_buffer('shift', shift.view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.scale.shape[1]:
            raise ValueError(f'AffineReLU was folded from a {self.scale.shape[1]}-channel BN, got input '
                             f'{tuple(x.shape)}')
        return torch.addcmul(self.shift, x, self.scale).relu_()

    def extra_repr(self) -> str:
        return f'{self.scale.shape[1]}'

    def train(self, mode: bool = True) -> 'AffineReLU':
        if mode:
            raise RuntimeError('AffineReLU holds frozen BN statistics (deploy mode, inference only); rebuild the '
                               'model from its checkpoint to train')
        return super().train(False)
