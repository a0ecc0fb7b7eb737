"""Export forms: plain-op equivalents of ScaleNet's stride-2 deconvolution and pre-activation BN+ReLU.

An ONNX engine runs each op with its own kernels, so the fastest *graph* for the same arithmetic differs per
engine. This module holds exact alternatives that :mod:`scalenet_mm.deploy.form_selection` measures per engine
and layer shape:

Deconvolution (``k3 s2 p1 op1`` of version 3, ``k4 s2 p1 op0`` of versions 1/2; output ``2H x 2W``). Per axis,
output phase ``r`` of ``y[2m + r]`` is a plain correlation of the input with a sub-kernel of the weight:

* k3: ``y[2m] = w1 x[m]``;  ``y[2m+1] = w2 x[m] + w0 x[m+1]``
* k4: ``y[2m] = w3 x[m-1] + w1 x[m]``;  ``y[2m+1] = w2 x[m] + w0 x[m+1]``

With one-sided zero padding (``(0, 1)`` for a window ``[x[m], x[m+1]]``, ``(1, 0)`` for ``[x[m-1], x[m]]``)
every phase comes out exactly ``H x W``, so no slicing is needed:

* ``'convtranspose'``: the engine's own ``ConvTranspose``.
* ``'split'``: four convolutions with exactly the deconvolution's MACs (k3: 1x1, 1x2, 2x1, 2x2 = 9 taps), stacked
  and interleaved by one ``DepthToSpace``.
* ``'split_transpose'``: the same four convolutions, interleaved by ``Concat -> Reshape -> Transpose -> Reshape``.
* ``'fused'`` (k3 only): one 2x2 convolution producing the four phases (16 taps, zeros included) in
  ``DepthToSpace`` order, then ``DepthToSpace``; one big GEMM instead of four small ones.

Pre-activation BN+ReLU (after :meth:`ScaleNet.switch_to_deploy` it is an :class:`AffineReLU`):

* ``'affine'``: ``relu(x * scale + shift)`` as ``Mul -> Add -> Relu``.
* ``'batchnorm'``: the same affine map as a ``BatchNormalization`` (mean 0, variance 1, epsilon 0) and ``Relu``,
  which engines with a fused batch-norm kernel run in fewer passes.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .bn_fusion import AffineReLU

__all__ = ['DECONV_FORMS', 'NORM_FORMS', 'PhaseConvDeconv', 'BatchNormReLU', 'deconv_export_form',
           'norm_export_form', 'deconv_weight', 'is_export_deconv']

DECONV_FORMS = ('convtranspose', 'split', 'split_transpose', 'fused')
NORM_FORMS = ('affine', 'batchnorm')

# per kernel size and output phase r: (weight taps of the window, zero padding (before, after) of that axis)
_PHASE_TAPS = {
    3: {0: ((1, ), (0, 0)), 1: ((2, 0), (0, 1))},
    4: {0: ((3, 1), (1, 0)), 1: ((2, 0), (0, 1))},
}
# fused k3: every phase on the window [x[m], x[m+1]] (None = a zero tap)
_FUSED_TAPS = {0: (1, None), 1: (2, 0)}


def is_export_deconv(m: nn.Module) -> bool:
    """A module computing a supported stride-2 deconvolution (``nn.ConvTranspose2d``, ``PhaseDeconv2d`` or its
    oneDNN-packed form) that an export form can replace."""
    from scalenet_mm.models.layers.phase_deconv import SUPPORTED_CONFIGS, PhaseDeconv2d

    from .onednn import OneDNNConvTranspose2d
    if not isinstance(m, (nn.ConvTranspose2d, PhaseDeconv2d, OneDNNConvTranspose2d)):
        return False
    k, s, p = tuple(m.kernel_size), tuple(m.stride), tuple(m.padding)
    config = (k[0], s[0], p[0], tuple(m.output_padding)[0])
    square = k[0] == k[1] and s[0] == s[1] and p[0] == p[1] and len(set(m.output_padding)) == 1
    return square and config in SUPPORTED_CONFIGS and m.groups == 1 and tuple(m.dilation) == (1, 1)


def deconv_weight(m: nn.Module) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """``(weight [Cin, Cout, k, k], bias)`` of a deconvolution module."""
    bias = None if m.bias is None else m.bias.detach()
    return m.weight.detach(), bias


def _sub_kernel(weight: torch.Tensor, taps_h: Sequence[Optional[int]], taps_w: Sequence[Optional[int]]):
    """Conv2d kernel ``[Cout, Cin, len(taps_h), len(taps_w)]`` picking deconv taps (``None``: zero)."""
    cin, cout = weight.shape[:2]
    kernel = weight.new_zeros(cout, cin, len(taps_h), len(taps_w))
    for a, th in enumerate(taps_h):
        for b, tw in enumerate(taps_w):
            if th is not None and tw is not None:
                kernel[:, :, a, b] = weight[:, :, th, tw].t()
    return kernel


class PhaseConvDeconv(nn.Module):
    """A stride-2 deconvolution as plain convolutions of its output phases (``'split'``, ``'split_transpose'``,
    ``'fused'``) or as itself (``'convtranspose'``); exact, for export and inference only."""

    def __init__(self, deconv: nn.Module, form: str) -> None:
        super().__init__()
        if form not in DECONV_FORMS:
            raise ValueError(f'deconvolution export form must be one of {DECONV_FORMS}, got {form!r}')
        if not is_export_deconv(deconv):
            raise ValueError(f'{type(deconv).__name__} is not a stride-2 deconvolution with k3 p1 op1 or k4 p1 op0 '
                             '(groups 1, dilation 1); no export form replaces it')
        weight, bias = deconv_weight(deconv)
        self.k = weight.shape[-1]
        if form == 'fused' and self.k != 3:
            raise ValueError("the 'fused' form needs a k3 deconvolution (a k4 one would need 3x3 windows); use "
                             "'split' or 'convtranspose'")
        self.form, self.cout = form, weight.shape[1]
        self.register_buffer('bias', None if bias is None else bias.clone())
        if form == 'convtranspose':
            self.register_buffer('weight', weight.clone())
            self.output_padding = 1 if self.k == 3 else 0
        elif form == 'fused':
            kernels = [[_sub_kernel(weight, _FUSED_TAPS[rh], _FUSED_TAPS[rw]) for rw in (0, 1)] for rh in (0, 1)]
            # DepthToSpace (CRD) channel order: c * 4 + rh * 2 + rw
            kernel = torch.stack([kernels[rh][rw] for rh in (0, 1) for rw in (0, 1)], dim=1)
            self.register_buffer('weight', kernel.flatten(0, 1).contiguous())
            if bias is not None:
                self.bias = bias.repeat_interleave(4).clone()
        else:
            self.pads: List[Tuple[int, int, int, int]] = []
            for idx, (rh, rw) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
                (taps_h, pad_h), (taps_w, pad_w) = _PHASE_TAPS[self.k][rh], _PHASE_TAPS[self.k][rw]
                self.register_buffer(f'weight{idx}', _sub_kernel(weight, taps_h, taps_w).contiguous())
                self.pads.append((pad_w[0], pad_w[1], pad_h[0], pad_h[1]))

    def extra_repr(self) -> str:
        return f'k={self.k}, cout={self.cout}, form={self.form!r}'

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.form == 'convtranspose':
            return F.conv_transpose2d(x, self.weight, self.bias, 2, 1, self.output_padding)
        if self.form == 'fused':
            return F.pixel_shuffle(F.conv2d(F.pad(x, (0, 1, 0, 1)), self.weight, self.bias), 2)
        phases = []
        for idx, pad in enumerate(self.pads):
            xp = F.pad(x, pad) if any(pad) else x
            phases.append(F.conv2d(xp, getattr(self, f'weight{idx}'), self.bias))
        if self.form == 'split':  # [N, C, 4, H, W] -> channel c * 4 + phase: DepthToSpace's order
            return F.pixel_shuffle(torch.stack(phases, dim=2).flatten(1, 2), 2)
        n, _, h, w = phases[0].shape
        z = torch.cat(phases, dim=1).reshape(n, 2, 2, self.cout, h, w)
        return z.permute(0, 3, 4, 1, 5, 2).reshape(n, self.cout, 2 * h, 2 * w)


class BatchNormReLU(nn.Sequential):
    """``relu(x * scale + shift)`` of an :class:`AffineReLU`, as a batch norm (mean 0, var 1, eps 0) + ReLU."""

    def __init__(self, affine: AffineReLU) -> None:
        channels = affine.scale.shape[1]
        bn = nn.BatchNorm2d(channels, eps=0.0)
        with torch.no_grad():
            bn.weight.copy_(affine.scale.flatten())
            bn.bias.copy_(affine.shift.flatten())
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0)
        super().__init__(bn.eval(), nn.ReLU())
        self.requires_grad_(False)

    def train(self, mode: bool = True) -> 'BatchNormReLU':
        return super().train(False)  # export/inference only: the statistics must never update


def deconv_export_form(deconv: nn.Module, form: str) -> nn.Module:
    """The export form ``form`` of a deconvolution module."""
    return PhaseConvDeconv(deconv, form)


def norm_export_form(affine: AffineReLU, form: str) -> nn.Module:
    """The export form ``form`` of a fused pre-activation BN+ReLU."""
    if form not in NORM_FORMS:
        raise ValueError(f'BN+ReLU export form must be one of {NORM_FORMS}, got {form!r}')
    if not isinstance(affine, AffineReLU):
        raise TypeError(f'expected an AffineReLU (a ScaleNet after switch_to_deploy()), got {type(affine).__name__}')
    return affine if form == 'affine' else BatchNormReLU(affine)
