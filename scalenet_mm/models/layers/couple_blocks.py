"""ScaleNet's conv-deconv blocks: DoubleCouple ('D') and SingleCouple ('S').

Every unit is pre-activation (BN -> ReLU -> conv/deconv, "BRC"). A block takes the triple ``(x1, x2, x3)``
(main input, and the previous block's maps at 1/2 and 1/4 resolution, or ``None``) and returns the triple
handed to the next block or transition.

Residual wiring (paper Sec. III-B and Table 5):

* ``'multipath'`` (the paper's method, reference ``slink='A'``): the inner skips and the cross-block skips.
* ``'singlepath'`` (reference ``slink='C'``): a D block keeps only the outer skip ``y = a4 + x1``; an S block
  keeps the cross-block add ``a1 + x2`` and drops its outer skip, exactly as the authors' code does.
* ``'none'``: no skip connection at all (the Table-5 backbones before any skip is added).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from .resampling import build_down_conv, build_up_conv, crop_to

__all__ = ['DoubleCouple', 'SingleCouple', 'RESIDUAL_WIRINGS']

RESIDUAL_WIRINGS = ('multipath', 'singlepath', 'none')
Triple = Tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]


class _CoupleBase(BaseModule):
    """Shared construction of the BRC units of a couple block."""

    #: ('conv' | 'deconv', input growth multiple, output growth multiple) per unit, 1-based like the keys.
    units: Tuple[Tuple[str, int, int], ...] = ()

    def __init__(self,
                 channels: int,
                 growth: int = 0,
                 residual: str = 'multipath',
                 downsample: str = 'conv',
                 upsample: str = 'deconv',
                 deconv_kernel: int = 3,
                 deconv_impl: str = 'native',
                 interp_kernel: str = '311',
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if residual not in RESIDUAL_WIRINGS:
            raise ValueError(f'residual must be one of {RESIDUAL_WIRINGS}, got {residual!r}')
        self.residual = residual
        self.channels, self.growth = channels, growth
        self.norm_names = []
        for idx, (kind, cin_mult, cout_mult) in enumerate(self.units, start=1):
            cin, cout = channels + cin_mult * growth, channels + cout_mult * growth
            norm_name, norm = build_norm_layer(norm_cfg, cin, postfix=idx)
            self.add_module(norm_name, norm)
            self.norm_names.append(norm_name)
            if kind == 'conv':
                layer = build_down_conv(cin, cout, downsample, conv_cfg)
            else:
                layer = build_up_conv(cin, cout, upsample, deconv_kernel, deconv_impl, interp_kernel, conv_cfg)
            self.add_module(f'{kind}{idx}', layer)
        self.relu = nn.ReLU(inplace=True)

    @property
    def last_norm(self) -> nn.Module:
        """The BN right before the last deconv: zeroing it makes the block an identity (zero_init_residual)."""
        return getattr(self, self.norm_names[-1])

    def switch_to_deploy(self) -> bool:
        """Inference form: every pre-activation ``BN -> ReLU`` becomes one :class:`~scalenet_mm.deploy.AffineReLU`.

        The ReLU sits between the BN and the conv, so the BN cannot fold into the conv's weights; computing
        ``relu(x * scale + shift)`` in one pass is what is left. Norms without running statistics (GN, ...) have
        no inference form, and the block is then left as it is. Returns whether the block was converted.
        Idempotent; the converted block is inference only.
        """
        from scalenet_mm.deploy.bn_fusion import AffineReLU, has_running_stats
        norms = [getattr(self, name) for name in self.norm_names]
        if not all(has_running_stats(n) for n in norms):
            return False
        for name, norm in zip(self.norm_names, norms):
            setattr(self, name, AffineReLU(norm))
        self.relu = nn.Identity()
        return True

    def brc(self, idx: int, x: torch.Tensor) -> torch.Tensor:
        """BN -> ReLU -> conv/deconv of unit ``idx`` (1-based)."""
        kind = self.units[idx - 1][0]
        return getattr(self, f'{kind}{idx}')(self.relu(getattr(self, self.norm_names[idx - 1])(x)))


class DoubleCouple(_CoupleBase):
    """Conv-conv-deconv-deconv block: widths C -> C+g -> C+2g -> C+g -> C, sides H -> H/2 -> H/4 -> H/2 -> H.

    Multipath data flow (the reference's, spec §4)::

        a1 = conv1(x1);  a2 = conv2(a1 + x2);  a3 = deconv3(a2 + x3);  y = deconv4(a3 + a1) + x1
        returns (y, a3, a2)   # raw a3/a2: the next block adds them to its own conv1/conv2 outputs
    """
    units = (('conv', 0, 1), ('conv', 1, 2), ('deconv', 2, 1), ('deconv', 1, 0))
    consumes_x2 = {'multipath': True, 'singlepath': False, 'none': False}
    consumes_x3 = consumes_x2

    def forward(self, x1: torch.Tensor, x2: Optional[torch.Tensor] = None,
                x3: Optional[torch.Tensor] = None) -> Triple:
        multipath = self.residual == 'multipath'
        a1 = self.brc(1, x1)
        a2 = self.brc(2, a1 + x2 if multipath and x2 is not None else a1)
        a3 = crop_to(self.brc(3, a2 + x3 if multipath and x3 is not None else a2), a1.shape)
        a4 = crop_to(self.brc(4, a3 + a1 if multipath else a3), x1.shape)
        y = a4 if self.residual == 'none' else a4 + x1
        return y, a3, a2


class SingleCouple(_CoupleBase):
    """Conv-deconv block: widths C -> C+g -> C, sides H -> H/2 -> H (spec §5).

    Multipath: ``a1 = conv1(x1);  y = deconv2(a1 + x2) + x1``; returns ``(y, a1, None)`` (x3 is ignored).
    """
    units = (('conv', 0, 1), ('deconv', 1, 0))
    consumes_x2 = {'multipath': True, 'singlepath': True, 'none': False}
    consumes_x3 = {'multipath': False, 'singlepath': False, 'none': False}

    def forward(self, x1: torch.Tensor, x2: Optional[torch.Tensor] = None,
                x3: Optional[torch.Tensor] = None) -> Triple:
        a1 = self.brc(1, x1)
        s1 = a1 + x2 if self.consumes_x2[self.residual] and x2 is not None else a1
        a2 = crop_to(self.brc(2, s1), x1.shape)
        y = a2 + x1 if self.residual == 'multipath' else a2
        return y, a1, None
