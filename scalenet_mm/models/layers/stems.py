"""ScaleNet stems ("rock", spec §3): one to three branches that each process the raw image.

Branch k (k = 1, 2, 3) outputs ``C1 + (k-1)*g1`` channels at 1x, 2x and 4x the stride of branch 1: the stem
"pretends" to be the previous block, so stage 1's first block receives ``(x1, x2, x3)`` like any other.

* ``'imagenet'`` stems end in BN + ReLU. Rock ``'U'``: conv k7 s2 p3 then max-pool k3 s2 p1 (stride 4);
  rock ``'N'``: conv k3 s2 p1 then max-pool k2 s2. Branches 2/3 pool with k4 s4 (and k2 s2).
* ``'cifar'`` stems are bare convs (no BN/ReLU): k3 s1 p1, k3 s2 p1, and k3 s2 p1 + max-pool k2 s2.

Pools of branches 2 and 3 round up so that their outputs line up with stage 1's strided convs on any input
size; ``x2``/``x3`` are cropped to exactly the sizes stage 1 produces (only ever a trailing row/column, and
never on sizes the reference accepts).
"""
import math
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule

from .resampling import crop_to

__all__ = ['ScaleNetStem', 'STEM_TYPES']

STEM_TYPES = ('imagenet', 'cifar')


class _StemBranch(nn.Module):
    """conv [-> norm -> ReLU] -> pools."""

    def __init__(self, conv: nn.Module, norm: Optional[Tuple[str, nn.Module]], pools: List[nn.Module]) -> None:
        super().__init__()
        self.conv = conv
        self.norm_name = None
        if norm is not None:
            self.norm_name = norm[0]
            self.add_module(norm[0], norm[1])
            self.relu = nn.ReLU(inplace=True)
        self.pools = nn.Sequential(*pools)

    def switch_to_deploy(self) -> bool:
        """Inference form: ``conv -> BN -> ReLU`` becomes one conv with the BN folded in, followed by its ReLU
        (a ``torch.ao.nn.intrinsic.ConvReLU2d``, which CPU backends run as one fused op). Returns whether the
        branch was converted (bare CIFAR convs and norms without running statistics have nothing to fold)."""
        from torch.ao.nn.intrinsic import ConvReLU2d

        from scalenet_mm.deploy.bn_fusion import fold_bn_into_conv, has_running_stats
        norm = None if self.norm_name is None else getattr(self, self.norm_name)
        if norm is None or type(self.conv) is not nn.Conv2d or not has_running_stats(norm):
            return False
        self.conv = ConvReLU2d(fold_bn_into_conv(self.conv, norm), nn.ReLU(inplace=True))
        delattr(self, self.norm_name)
        del self.relu
        self.norm_name = None
        return True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm_name is not None:
            x = self.relu(getattr(self, self.norm_name)(x))
        return self.pools(x)


class ScaleNetStem(BaseModule):
    """The multi-branch stem.

    Args:
        stem_type: ``'imagenet'`` (stride 4, BN+ReLU) or ``'cifar'`` (stride 1, bare convs).
        channels: ``C1``, the width of stage 1. growth: ``g1``, the growth of stage 1.
        rock: ``'U'`` or ``'N'`` (ImageNet only; both are the same for CIFAR).
        branches: which of the branches 1..3 to build; unbuilt ones give ``None``. Branch 1 is always built.
    """

    def __init__(self,
                 stem_type: str,
                 in_channels: int,
                 channels: int,
                 growth: int = 0,
                 rock: str = 'U',
                 branches: Tuple[int, ...] = (1, ),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if stem_type not in STEM_TYPES:
            raise ValueError(f'stem_type must be one of {STEM_TYPES}, got {stem_type!r}')
        self.stem_type, self.rock = stem_type, rock
        self.stride = 4 if stem_type == 'imagenet' else 1
        for k in (1, 2, 3):
            if k in branches:
                self.add_module(f'branch{k}', self._branch(k, in_channels, channels + (k - 1) * growth, conv_cfg,
                                                           norm_cfg))

    def _branch(self, k: int, cin: int, cout: int, conv_cfg, norm_cfg) -> _StemBranch:
        if self.stem_type == 'cifar':
            conv = build_conv_layer(conv_cfg, cin, cout, 3, stride=1 if k == 1 else 2, padding=1, bias=False)
            return _StemBranch(conv, None, [nn.MaxPool2d(2, 2, ceil_mode=True)] if k == 3 else [])
        kernel, padding = (7, 3) if self.rock == 'U' else (3, 1)
        conv = build_conv_layer(conv_cfg, cin, cout, kernel, stride=2, padding=padding, bias=False)
        norm = build_norm_layer(norm_cfg, cout)
        if k == 1:
            pools = [nn.MaxPool2d(3, 2, 1) if self.rock == 'U' else nn.MaxPool2d(2, 2)]
        else:
            pools = [nn.MaxPool2d(4, 4, ceil_mode=True)] + ([nn.MaxPool2d(2, 2, ceil_mode=True)] if k == 3 else [])
        return _StemBranch(conv, norm, pools)

    def switch_to_deploy(self) -> int:
        """Fold every branch's BN into its conv (see :meth:`_StemBranch.switch_to_deploy`); returns how many."""
        return sum(getattr(self, f'branch{k}').switch_to_deploy() for k in (1, 2, 3) if hasattr(self, f'branch{k}'))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
        x1 = self.branch1(x)
        h, w = x1.shape[-2:]
        outs = [x1]
        for k in (2, 3):
            branch = getattr(self, f'branch{k}', None)
            if branch is None:
                outs.append(None)
                continue
            scale = 2**(k - 1)  # stage 1's conv1/conv2 outputs: ceil(h/2), ceil(h/4)
            outs.append(crop_to(branch(x), (math.ceil(h / scale), math.ceil(w / scale))))
        return tuple(outs)
