"""Inference-only convolutions whose weights are pre-packed for oneDNN (PyTorch's CPU convolution library).

In eager mode ``nn.Conv2d`` hands oneDNN a plain-layout weight on every call, and oneDNN reorders it into its
blocked layout each time. For ScaleNet at batch 1 that reorder is a large share of a convolution's cost: its
stride-2 convs have big weights (400x400x3x3 in vo21's last stage) and small maps (7x7). Packing the weight
once, as ``torch.compile``'s CPU backend does, removes that work while running the same oneDNN kernels, so
results are equal to the plain module's up to float rounding order.

The packed ops (``torch.ops.mkldnn._convolution_pointwise`` and its transposed twin) are PyTorch-internal;
:func:`onednn_available` checks for them and the modules fall back to the plain functional call when they are
missing, on non-CPU or non-fp32 tensors, and whenever autograd needs weight gradients.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['onednn_available', 'OneDNNConv2d', 'OneDNNConvTranspose2d']


_OP_NAMES = ('_convolution_pointwise', '_convolution_transpose_pointwise', '_reorder_convolution_weight',
             '_reorder_convolution_transpose_weight')


def _find_ops():
    if not torch.backends.mkldnn.is_available() or not all(hasattr(torch.ops.mkldnn, n) for n in _OP_NAMES):
        return None
    return {n: getattr(torch.ops.mkldnn, n).default for n in _OP_NAMES}  # resolved once: cheaper per call


_OPS = _find_ops()


def onednn_available() -> bool:
    """Whether this PyTorch build has oneDNN and the pre-packed convolution ops."""
    return _OPS is not None


class _PackedBase(nn.Module):
    """Shared weight handling: the plain weight stays the parameter; the packed copy is a cache."""

    transposed = False

    def __init__(self, conv: nn.Module, fuse_relu: bool = False) -> None:
        super().__init__()
        if conv.padding_mode != 'zeros':
            raise ValueError(f'{type(self).__name__} supports zero padding only, got {conv.padding_mode!r}')
        if isinstance(conv.padding, str):
            raise ValueError(f'{type(self).__name__} needs numeric padding, got {conv.padding!r}')
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.kernel_size, self.stride = tuple(conv.kernel_size), tuple(conv.stride)
        self.padding, self.dilation, self.groups = tuple(conv.padding), tuple(conv.dilation), conv.groups
        self.output_padding = tuple(getattr(conv, 'output_padding', (0, 0)))
        self.weight = nn.Parameter(conv.weight.detach().clone(), requires_grad=False)
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone(), requires_grad=False)
        self.fuse_relu = fuse_relu
        self._attr = 'relu' if fuse_relu else 'none'
        # the op arguments as lists, built once: this module sits on the per-layer hot path
        self._args = [list(self.padding), list(self.output_padding), list(self.stride), list(self.dilation)]
        self._enabled = onednn_available()
        self._packed = None  # ((data_ptr, version), packed weight)

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, '
                f'padding={self.padding}, bias={self.bias is not None}, fuse_relu={self.fuse_relu}')

    def _packed_weight(self, x: torch.Tensor) -> torch.Tensor:
        key = (self.weight.data_ptr(), self.weight._version)
        if self._packed is None or self._packed[0] != key:  # first call, or the weight was changed in place
            self._packed = (key, self._pack(self.weight.detach(), list(x.shape)))
        return self._packed[1]

    def _apply(self, fn, *args, **kwargs):
        self._packed = None  # .to()/.half() etc.: repack on the next call
        return super()._apply(fn, *args, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self._enabled and x.is_cpu and x.dtype == torch.float32 and self.weight.dtype == torch.float32
                and x.dim() == 4 and not (x.requires_grad and torch.is_grad_enabled())):
            return self._packed_call(x, self._packed_weight(x))
        out = self._plain_call(x)
        return F.relu(out, inplace=True) if self.fuse_relu else out

    def train(self, mode: bool = True) -> '_PackedBase':
        if mode:
            raise RuntimeError(f'{type(self).__name__} is an inference-only deploy module (its weights are frozen '
                               'and may hold folded BN statistics); rebuild the model from its checkpoint to train')
        return super().train(False)


class OneDNNConv2d(_PackedBase):
    """``nn.Conv2d`` (plus an optional fused ReLU) with a pre-packed oneDNN weight; inference only."""

    def __init__(self, conv: nn.Conv2d, fuse_relu: bool = False) -> None:
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f'OneDNNConv2d wraps an nn.Conv2d, got {type(conv).__name__}')
        super().__init__(conv, fuse_relu)

    def _pack(self, weight: torch.Tensor, input_size) -> torch.Tensor:
        return _OPS['_reorder_convolution_weight'](weight, list(self.padding), list(self.stride),
                                                            list(self.dilation), self.groups, input_size)

    def _packed_call(self, x, weight):
        padding, _, stride, dilation = self._args
        return _OPS['_convolution_pointwise'](x, weight, self.bias, padding, stride, dilation, self.groups,
                                                       self._attr, [], '')

    def _plain_call(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class OneDNNConvTranspose2d(_PackedBase):
    """``nn.ConvTranspose2d`` (or :class:`PhaseDeconv2d`, same weight layout) with a pre-packed oneDNN weight.

    The output size is the deconvolution's default one (``output_size`` arguments are not supported).
    """

    transposed = True

    def __init__(self, deconv: nn.Module, fuse_relu: bool = False) -> None:
        from scalenet_mm.models.layers.phase_deconv import PhaseDeconv2d
        if not isinstance(deconv, (nn.ConvTranspose2d, PhaseDeconv2d)):
            raise TypeError(f'OneDNNConvTranspose2d wraps a transposed convolution, got {type(deconv).__name__}')
        super().__init__(deconv, fuse_relu)

    def _pack(self, weight: torch.Tensor, input_size) -> torch.Tensor:
        return _OPS['_reorder_convolution_transpose_weight'](
            weight, list(self.padding), list(self.output_padding), list(self.stride), list(self.dilation),
            self.groups, input_size)

    def _packed_call(self, x, weight):
        padding, output_padding, stride, dilation = self._args
        return _OPS['_convolution_transpose_pointwise'](x, weight, self.bias, padding, output_padding,
                                                                 stride, dilation, self.groups, self._attr, [], '')

    def _plain_call(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)
