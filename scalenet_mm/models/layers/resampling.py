"""Shape-robust down- and up-sampling pieces shared by ScaleNet's stems, blocks and transitions.

The reference implementation only works when every intermediate side is even (spec §10): strided convs round
up, deconvs give exactly twice their input and pools round down, so odd sides make the skip additions and
concatenations disagree. Here every resampling follows *ceil* semantics: pools use ``ceil_mode``, stride-2
convs without padding see an input padded to an even side, and deconv outputs are cropped to the size of the
tensor they are added to. On every size where the reference works nothing is padded or cropped, so the
results are identical there.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer

__all__ = ['crop_to', 'pad_to_even', 'pool2x', 'build_down_conv', 'build_up_conv', 'StridedPath']


def crop_to(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Drop trailing rows/columns of ``x`` so that its spatial size is ``size`` (no copy)."""
    h, w = size[-2], size[-1]
    if x.shape[-2] == h and x.shape[-1] == w:
        return x
    return x[..., :h, :w]


def pad_to_even(x: torch.Tensor) -> torch.Tensor:
    """Zero-pad one trailing row/column where a side is odd, so a k2 s2 conv rounds up."""
    pad_h, pad_w = x.shape[-2] % 2, x.shape[-1] % 2
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h))
    return x


def pool2x(x: torch.Tensor, kind: str) -> torch.Tensor:
    """Parameter-free 2x2 stride-2 pooling (``'maxpool'`` or ``'avgpool'``) that rounds up."""
    if kind == 'maxpool':
        return F.max_pool2d(x, 2, 2, ceil_mode=True)
    return F.avg_pool2d(x, 2, 2, ceil_mode=True)


def build_down_conv(in_channels: int,
                    out_channels: int,
                    method: str = 'conv',
                    conv_cfg: Optional[dict] = None) -> nn.Module:
    """A block's stride-2 convolution.

    ``'conv'`` is Table 4's method A (conv k3 s2 p1); ``'pool'`` is method C (conv k3 s1 p1, then 2x2 max pool).
    """
    if method == 'conv':
        return build_conv_layer(conv_cfg, in_channels, out_channels, 3, stride=2, padding=1, bias=False)
    if method == 'pool':
        return nn.Sequential(
            build_conv_layer(conv_cfg, in_channels, out_channels, 3, stride=1, padding=1, bias=False),
            nn.MaxPool2d(2, 2, ceil_mode=True))
    raise ValueError(f"downsample must be 'conv' or 'pool', got {method!r}")


def build_up_conv(in_channels: int,
                  out_channels: int,
                  method: str = 'deconv',
                  kernel_size: int = 3,
                  impl: str = 'native',
                  interp_kernel: str = '311',
                  conv_cfg: Optional[dict] = None) -> nn.Module:
    """A block's 2x up-sampling convolution.

    ``'deconv'`` is Table 4's method B: a stride-2 transposed conv, k3 p1 op1 (version 3) or k4 p1 op0
    (versions 1/2). ``impl='phase'`` computes the same deconvolution as four ordinary convolutions
    (:class:`~scalenet_mm.models.layers.PhaseDeconv2d`, identical weights and state-dict layout).
    ``'interp'`` is method D: nearest 2x interpolation followed by a k3 s1 p1 (``'311'``) or 1x1 (``'110'``) conv.
    """
    if method == 'deconv':
        if kernel_size not in (3, 4):
            raise ValueError(f'deconv kernel_size must be 3 (k3 s2 p1 op1) or 4 (k4 s2 p1 op0), got {kernel_size}')
        output_padding = 1 if kernel_size == 3 else 0
        if impl == 'native':
            return nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=2, padding=1,
                                      output_padding=output_padding, bias=False)
        if impl == 'phase':
            from .phase_deconv import PhaseDeconv2d
            return PhaseDeconv2d(in_channels, out_channels, kernel_size, stride=2, padding=1,
                                 output_padding=output_padding, bias=False)
        raise ValueError(f"deconv_impl must be 'native' or 'phase', got {impl!r}")
    if method == 'interp':
        k, padding = (3, 1) if interp_kernel == '311' else (1, 0)
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode='nearest'),
            build_conv_layer(conv_cfg, in_channels, out_channels, k, stride=1, padding=padding, bias=False))
    raise ValueError(f"upsample must be 'deconv' or 'interp', got {method!r}")


class StridedPath(nn.Module):
    """The learnable strided path of an interactive transition (``dstyle[1]`` or ``dstyle[2]``).

    ``convk2*``: conv k2 s2 p0; ``convk3*``: conv k3 s2 p1; both without BN/ReLU/bias. With ``stride=4`` a 2x2
    pool follows (max for the ``m`` suffix, else average). A bare pool name at stride 4 means a 1x1 conv and a
    4x4 pool; at stride 2 it is the pool alone (no parameters).
    """

    def __init__(self, channels: int, kind: str, stride: int, conv_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if stride not in (2, 4):
            raise ValueError(f'StridedPath stride must be 2 or 4, got {stride}')
        self.kind, self.stride = kind, stride
        self.pad_odd = kind.startswith('convk2')
        if kind.startswith('convk2'):
            self.conv = build_conv_layer(conv_cfg, channels, channels, 2, stride=2, padding=0, bias=False)
        elif kind.startswith('convk3'):
            self.conv = build_conv_layer(conv_cfg, channels, channels, 3, stride=2, padding=1, bias=False)
        elif stride == 4:
            self.conv = build_conv_layer(conv_cfg, channels, channels, 1, bias=False)
        else:
            self.conv = None
        self.pool = 'maxpool' if kind.endswith('m') or kind == 'maxpool' else 'avgpool'

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv is None:
            return pool2x(x, self.pool)
        if self.kind in ('maxpool', 'avgpool'):
            x = self.conv(x)
            pool = F.max_pool2d if self.pool == 'maxpool' else F.avg_pool2d
            return pool(x, 4, 4, ceil_mode=True)
        x = self.conv(pad_to_even(x) if self.pad_odd else x)
        return pool2x(x, self.pool) if self.stride == 4 else x
