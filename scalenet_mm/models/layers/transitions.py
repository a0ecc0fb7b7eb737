"""Transitions between ScaleNet stages and the last down-sampling unit before the head.

The reference's only transition type is the "interactive" one (``dfunc='O'``, spec §7): the three maps of a
stage's last block are pooled to the next scale, concatenated with the map one scale below (pooled tensor
first) and fused by a 1x1 conv (no BN/ReLU/bias; an identity in versions >= 2 when widths are equal).
Outputs the next stage does not read are not built (the reference builds them and discards the result: the
"dead" D->S path of spec §7.4), so every parameter here reaches the loss.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule

from .resampling import StridedPath, pad_to_even, pool2x

__all__ = ['InteractiveTransition', 'LastDownUnit']


def _fusion(in_channels: int, out_channels: int, identity: bool, conv_cfg: Optional[dict]) -> nn.Module:
    if identity:
        return nn.Identity()
    return build_conv_layer(conv_cfg, in_channels, out_channels, 1, bias=False)


class InteractiveTransition(BaseModule):
    """Interactive transition after a DoubleCouple (``block='D'``) or SingleCouple (``block='S'``) stage.

    After D, from ``(y, a3, a2)`` at sides (H, H/2, H/4) with widths (C, C+g, C+2g)::

        p = P(y);  out1 = fuse1[P(y), a3];  out2 = fuse2[P(a3), a2];  out3 = fuse3[P(a2), Q(p)]

    After S, from ``(y, a1)``: ``out1 = fuse1[P(y), a1];  out2 = fuse2[P(a1), R(p)]``; ``out3`` is ``None``.
    P is a parameter-free 2x2 pool (``dstyle[0]``), Q the stride-4 path (``dstyle[1]``) and R the stride-2
    path (``dstyle[2]``). Outputs have widths (C', C'+g', C'+2g') at sides (H/2, H/4, H/8).

    Args:
        build_mid / build_low: whether ``out2`` / ``out3`` are consumed by the next stage (else not built).
        keep_identity_convs: version-1 behaviour, a real 1x1 conv even where widths are equal.
    """

    def __init__(self,
                 block: str,
                 channels: int,
                 growth: int,
                 out_channels: int,
                 next_growth: int,
                 dstyle: Tuple[str, str, str],
                 build_mid: bool = True,
                 build_low: bool = True,
                 keep_identity_convs: bool = False,
                 conv_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if block not in ('D', 'S'):
            raise ValueError(f"block must be 'D' or 'S', got {block!r}")
        self.block, self.pool = block, dstyle[0]
        c, g, c2, g2 = channels, growth, out_channels, next_growth
        if block == 'D':
            widths = [(2 * c + g, c2), (2 * c + 3 * g, c2 + g2), (2 * c + 2 * g, c2 + 2 * g2)]
        else:
            widths = [(2 * c + g, c2), (2 * c + g, c2 + g2)]
        built = [True, build_mid, build_low and block == 'D']
        for idx, ((cin, cout), build) in enumerate(zip(widths, built), start=1):
            if build:
                identity = cin == cout and not keep_identity_convs
                self.add_module(f'fuse{idx}', _fusion(cin, cout, identity, conv_cfg))
        needs_path = built[2] if block == 'D' else built[1]
        if needs_path:
            stride, kind = (4, dstyle[1]) if block == 'D' else (2, dstyle[2])
            self.strided_path = StridedPath(c, kind, stride, conv_cfg)

    def forward(self, y: torch.Tensor, mid: torch.Tensor,
                low: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, ...]:
        p = pool2x(y, self.pool)
        out1 = self.fuse1(torch.cat([p, mid], dim=1))
        out2 = out3 = None
        if self.block == 'D':
            if hasattr(self, 'fuse2'):
                out2 = self.fuse2(torch.cat([pool2x(mid, self.pool), low], dim=1))
            if hasattr(self, 'fuse3'):
                out3 = self.fuse3(torch.cat([pool2x(low, self.pool), self.strided_path(p)], dim=1))
        elif hasattr(self, 'fuse2'):
            out2 = self.fuse2(torch.cat([pool2x(mid, self.pool), self.strided_path(p)], dim=1))
        return out1, out2, out3


class LastDownUnit(BaseModule):
    """Down-sampling unit between the last block and the head (``last_down=True``, spec §8).

    ``'E'``: BRC(conv k2 s2); ``'C'``: BRC(conv k3 s2 p1); ``'D'``: BRC(conv k3 s1 p1 to the output width)
    then BRC(conv k2 s2). The k2 convs see an input padded to an even side, so odd sides round up.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kind: str = 'E',
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        specs = dict(E=[(2, 2, 0)], C=[(3, 2, 1)], D=[(3, 1, 1), (2, 2, 0)])
        if kind not in specs:
            raise ValueError(f"last_dfuc must be one of {tuple(specs)}, got {kind!r}")
        self.norm_names, self.kernels = [], []
        cin = in_channels
        for idx, (k, s, p) in enumerate(specs[kind], start=1):
            norm_name, norm = build_norm_layer(norm_cfg, cin, postfix=idx)
            self.add_module(norm_name, norm)
            self.add_module(f'conv{idx}', build_conv_layer(conv_cfg, cin, out_channels, k, stride=s, padding=p,
                                                           bias=False))
            self.norm_names.append(norm_name)
            self.kernels.append(k)
            cin = out_channels
        self.relu = nn.ReLU(inplace=True)

    def switch_to_deploy(self, output_norm: Optional[nn.Module] = None) -> Tuple[int, bool]:
        """Inference form of the unit, optionally absorbing the ``BN -> ReLU`` that follows it.

        Each pre-activation ``BN -> ReLU`` becomes one :class:`~scalenet_mm.deploy.AffineReLU`. ``output_norm``
        (the backbone's output BN, applied to this unit's result and followed by a ReLU) folds into the last
        conv, which then carries the ReLU (``ConvReLU2d``). Returns ``(pre-activation norms converted, whether
        output_norm was folded)``; the caller drops ``output_norm`` and its ReLU when it was. Idempotent.
        """
        from torch.ao.nn.intrinsic import ConvReLU2d

        from scalenet_mm.deploy.bn_fusion import AffineReLU, fold_bn_into_conv, has_running_stats
        norms = [getattr(self, name) for name in self.norm_names]
        converted = 0
        if all(has_running_stats(n) for n in norms):
            for name, norm in zip(self.norm_names, norms):
                setattr(self, name, AffineReLU(norm))
            self.relu = nn.Identity()
            converted = len(norms)
        last = f'conv{len(self.kernels)}'
        if output_norm is None or type(getattr(self, last)) is not nn.Conv2d or not has_running_stats(output_norm):
            return converted, False
        setattr(self, last, ConvReLU2d(fold_bn_into_conv(getattr(self, last), output_norm), nn.ReLU(inplace=True)))
        return converted, True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for idx, (norm_name, k) in enumerate(zip(self.norm_names, self.kernels), start=1):
            x = self.relu(getattr(self, norm_name)(x))
            x = getattr(self, f'conv{idx}')(pad_to_even(x) if k == 2 else x)
        return x
