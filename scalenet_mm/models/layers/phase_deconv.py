# Copyright (c) scalenet_mm contributors.
"""Exact, fast stride-2 transposed convolutions via phase (sub-pixel) decomposition.

ScaleNet up-samples with two kinds of deconvolution (``nn.ConvTranspose2d``):

* version 3:    ``kernel_size=3, stride=2, padding=1, output_padding=1``
* versions 1/2: ``kernel_size=4, stride=2, padding=1, output_padding=0``

Both map ``H x W`` to exactly ``2H x 2W``. PyTorch's CPU kernel for these is
slow for NCHW tensors (an im2col-GEMM + col2im ``slow_conv_transpose2d``).

Math. With weight ``w[ci, co, t_h, t_w]`` a stride-2 / padding-1 deconv is
``y[2m + r] = sum_t x[i] w[t]`` over ``2i - 1 + t = 2m + r`` (per axis), so
every output *phase* ``r in {0, 1}`` is an ordinary stride-1 correlation of the
input with a 2-tap sub-kernel of the (flipped) weight::

    k = 4:  y[2m]     = w[3] x[m-1] + w[1] x[m]
            y[2m + 1] = w[2] x[m]   + w[0] x[m+1]
    k = 3:  the same with w[3] := 0   (k3/op1 == k4 with a zero-padded kernel)

Taking the 2-tap window ``[x[a-1], x[a]]`` (a conv with ``padding=1``, which
has ``H + 1`` outputs) phase ``r`` sits at ``a = m + r``. Formulations
(``impl``), all exact (only the floating-point summation order differs):

* ``"fused"``: one ``Conv2d(Cin, 4*Cout, 2, padding=1)`` with a phase-major
  ``(rh, rw, co)`` combined kernel (:func:`phase_kernel`), then one
  interleaving copy ``y[.., 2m+rh, 2j+rw] = z[.., (rh, rw, co), m+rh, j+rw]``.
  For ``k=3`` it spends 16 MACs where 9 would do.
* ``"split"``: four convolutions with the exact per-phase sub-kernels
  (``1x1, 1x2, 2x1, 2x2`` for ``k=3``; four ``2x2`` for ``k=4``) written into
  the four strided phases of the output.
* ``"native"``: ``F.conv_transpose2d`` itself (oneDNN deconvolution for
  channels-last tensors, which is already about as fast as a stride-2 conv).

Training: ``fused``/``split`` run in a custom autograd function whose backward
is the deconvolution's own adjoint (``aten.convolution_backward`` of the
transposed conv: the input gradient is the stride-2 ``Conv2d`` of the output
gradient), so gradients equal ``nn.ConvTranspose2d``'s, the backward is as
fast as its, and only ``x`` and ``weight`` are saved. The kernel rearrangement
is done once per forward (no autograd needed), or cached when no weight
gradient is needed (``no_grad``/eval, frozen or deployed weights).

``impl="auto"`` (CPU) follows ``tools/benchmark_deconv.py`` measurements on
a 2-core CPU, 2 threads, batch 16 (see :data:`AUTO_POLICY`):

* channels-last input -> ``native``: oneDNN's deconvolution is already within
  ~1.0-1.7x of the same-MAC stride-2 conv; both phase forms were slower.
* NCHW input -> ``split`` for k3 maps >= 32x32 (exact 9 MACs; 64ch 56->112:
  ~0.55x the forward time of ``nn.ConvTranspose2d``, which there takes ~3x a
  stride-2 conv) and ``fused`` for k4 maps >= 16x16 (64ch 56->112: ~0.7x;
  128ch 28->56: ~0.8x).
* NCHW input, smaller maps -> ``native``: for k3 at 28x28 all forms were
  within noise of each other (``split``, with 4 convs + 4 copies, suffers most
  from a busy machine), at 7x7 the fused conv's ``(H+1)(W+1)`` grid and the
  per-step kernel rearrangement do not pay off -- except k4 with a cached
  kernel (no weight grad), where ``fused`` still won (~0.8-0.95x).

Other devices: ``auto`` means ``native``.

Note: in ScaleNet vo21 at 224x224 every deconv input is <= 28x28, so ``auto``
resolves to ``native`` there (a whole-backbone step with ``fused`` forced was
no faster, with ``split`` forced ~1.3x slower); the phase forms pay off for
larger feature maps (detection inputs). For that model, channels-last
tensors gave the larger CPU gain (-31% inference, -11% train step).

The module stores ``weight`` in exactly the ``nn.ConvTranspose2d`` layout
``[Cin, Cout, k, k]`` (and optional ``bias`` ``[Cout]``), is initialised like
it, and is *not* a subclass of ``nn.Conv2d`` / ``nn.ConvTranspose2d``, so
mmengine initialisers such as ``Kaiming(layer='Conv2d')`` do not touch it
(exactly as they do not touch ``nn.ConvTranspose2d``). To initialise it from an
``init_cfg`` name it explicitly, e.g. ``layer=['ConvTranspose2d',
'PhaseDeconv2d']``.
"""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'PhaseDeconv2d', 'DeployedPhaseDeconv2d', 'phase_deconv2d',
    'phase_kernel', 'split_kernels', 'convert_deconvs', 'revert_deconvs',
    'is_supported_deconv', 'SUPPORTED_CONFIGS', 'AUTO_POLICY'
]

# (kernel_size, stride, padding, output_padding) combinations supported.
SUPPORTED_CONFIGS = ((3, 2, 1, 1), (4, 2, 1, 0))
_SUPPORTED_MSG = ('supported: kernel_size=3, stride=2, padding=1, '
                  'output_padding=1 (ScaleNet version 3) or kernel_size=4, '
                  'stride=2, padding=1, output_padding=0 (versions 1/2), '
                  'with groups=1, dilation=1, padding_mode="zeros"')

_IMPLS = ('auto', 'fused', 'split', 'native')

# ``impl="auto"`` on CPU for NCHW inputs: (kernel_size, kernel_cached) ->
# (impl, minimum H * W of the input map); smaller maps and channels-last inputs
# use "native". kernel_cached is True when no weight gradient is needed
# (no_grad / eval / deploy), so no per-call kernel rearrangement is paid.
# Measured with tools/benchmark_deconv.py (2-core CPU, 2 threads, batch 16).
AUTO_POLICY = {
    (3, False): ('split', 32 * 32),
    (3, True): ('split', 32 * 32),
    (4, False): ('fused', 16 * 16),
    (4, True): ('fused', 0),
}


def _pair(v, name: str) -> Tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    v = tuple(v)
    if len(v) == 1:
        return (int(v[0]), int(v[0]))
    if len(v) != 2:
        raise ValueError(f'{name} must be an int or a pair, got {v!r}')
    return (int(v[0]), int(v[1]))


def _check_config(kernel_size, stride, padding, output_padding, groups=1,
                  dilation=1, padding_mode='zeros') -> int:
    """Validate a deconv configuration and return its (square) kernel size."""
    k, s, p = (_pair(kernel_size, 'kernel_size'), _pair(stride, 'stride'),
               _pair(padding, 'padding'))
    d = _pair(dilation, 'dilation')
    if k[0] != k[1] or k[0] not in (3, 4):
        raise ValueError(f'PhaseDeconv2d: unsupported kernel_size={kernel_size!r}; '
                         f'{_SUPPORTED_MSG}')
    k = k[0]
    if output_padding is None:
        output_padding = 1 if k == 3 else 0
    op = _pair(output_padding, 'output_padding')
    want = 1 if k == 3 else 0
    if (s != (2, 2) or p != (1, 1) or op != (want, want) or groups != 1
            or d != (1, 1) or padding_mode != 'zeros'):
        raise ValueError(
            'PhaseDeconv2d: unsupported configuration '
            f'(kernel_size={kernel_size!r}, stride={stride!r}, '
            f'padding={padding!r}, output_padding={output_padding!r}, '
            f'groups={groups!r}, dilation={dilation!r}, '
            f'padding_mode={padding_mode!r}); {_SUPPORTED_MSG}')
    return k


def is_supported_deconv(m: nn.Module) -> bool:
    """Whether ``m`` is an ``nn.ConvTranspose2d`` that can be converted."""
    if not isinstance(m, nn.ConvTranspose2d) or isinstance(
            m, nn.modules.lazy.LazyModuleMixin):
        return False
    try:
        _check_config(m.kernel_size, m.stride, m.padding, m.output_padding,
                      m.groups, m.dilation, m.padding_mode)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------
# kernel rearrangement
# ----------------------------------------------------------------------------
_ROWS_CACHE = {}


def _phase_rows(cout: int, k: int, device) -> Tensor:
    """Row indices for :func:`phase_kernel` (cached per shape/device).

    Rows of the ``[Cout * k * k (+1 zero row), Cin]`` transposed weight, in
    ``(rh, rw, co, jh, jw)`` order: tap ``t = 3 - r - 2j`` per axis (taps 3 of
    a k3 kernel map to the extra zero row).
    """
    key = (cout, k, str(device))
    rows = _ROWS_CACHE.get(key)
    if rows is None:
        r = torch.arange(2).view(2, 1, 1, 1, 1)
        rw = torch.arange(2).view(1, 2, 1, 1, 1)
        co = torch.arange(cout).view(1, 1, cout, 1, 1)
        jh = torch.arange(2).view(1, 1, 1, 2, 1)
        jw = torch.arange(2).view(1, 1, 1, 1, 2)
        th, tw = 3 - r - 2 * jh, 3 - rw - 2 * jw
        rows = co * (k * k) + th * k + tw
        rows = torch.where((th < k) & (tw < k), rows, cout * k * k)
        rows = rows.reshape(-1).to(device)
        if len(_ROWS_CACHE) > 64:
            _ROWS_CACHE.clear()
        _ROWS_CACHE[key] = rows
    return rows


def phase_kernel(weight: Tensor) -> Tensor:
    """Combined phase kernel of a stride-2/padding-1 deconv weight.

    Args:
        weight: ``[Cin, Cout, k, k]`` (``nn.ConvTranspose2d`` layout), k in
            {3, 4}.

    Returns:
        ``[4 * Cout, Cin, 2, 2]`` Conv2d weight (to be used with
        ``padding=1``) whose output channel ``(rh * 2 + rw) * Cout + co`` is
        output phase ``(rh, rw)`` of output channel ``co``:
        ``K[(rh, rw, co), ci, jh, jw] = w[ci, co, 3 - rh - 2 jh, 3 - rw - 2 jw]``
        (zero where the tap is 3 and ``k == 3``). It is returned in
        channels-last memory layout: built by one transpose and one row gather
        (contiguous ``Cin``-long rows), several times faster than a
        flip/permute copy with 2-element inner loops. Differentiable.
    """
    cin, cout, k = weight.shape[0], weight.shape[1], weight.shape[2]
    t = k * k
    wt = weight.reshape(cin, cout * t).t()  # [(co, th, tw), ci] view
    if k == 3:  # append the zero row referenced by the missing taps
        src = weight.new_empty((cout * t + 1, cin))
        src[-1].zero_()
        src[:-1].copy_(wt)
    else:
        src = wt.contiguous()
    g = src.index_select(0, _phase_rows(cout, k, weight.device))
    return g.view(4 * cout, 2, 2, cin).permute(0, 3, 1, 2)


# Exact ("split") per-phase kernels are sub-blocks of the fused kernel: the
# block of phase (rh, rw) with window taps j; for k3 the r=0 phases drop the
# (zero) tap j=0 and use a 1-tap window on x[m] (conv padding 0) instead.
# Conv padding per axis for phase r (the result is read from index m + r):
#   k3: r=0 -> [w1] on x[m] (pad 0);  r=1 -> [w2, w0] on x[a-1], x[a] (pad 1)
#   k4: r=0 -> [w3, w1] (pad 1);      r=1 -> [w2, w0] (pad 1)
_SPLIT_PAD = {3: (0, 1), 4: (1, 1)}


def split_kernels(weight: Tensor, memory_format=torch.contiguous_format):
    """The four exact per-phase Conv2d kernels ``[Cout, Cin, kh, kw]`` in
    phase order ``(0, 0), (0, 1), (1, 0), (1, 1)`` (for k3: 1x1, 1x2, 2x1,
    2x2, i.e. 9 MACs per input pixel instead of the fused kernel's 16)."""
    k, cout = weight.shape[2], weight.shape[1]
    kern = phase_kernel(weight)
    out = []
    for i in range(4):
        rh, rw = divmod(i, 2)
        b = kern[i * cout:(i + 1) * cout]
        if k == 3:
            b = b[:, :, 1 - rh:, 1 - rw:]
        out.append(b.contiguous(memory_format=memory_format))
    return out


def _build_kernel(weight: Tensor, bias: Optional[Tensor], impl: str,
                  memory_format=torch.contiguous_format):
    """(kernel, kernel_bias) for ``impl`` ('fused' or 'split').

    The kernel layout follows the input's memory format: mkldnn picks a
    channels-last convolution (and output) as soon as the *weight* is
    channels-last, which would make the interleaving copy a slow transpose.
    """
    if impl == 'fused':
        kern = phase_kernel(weight).contiguous(memory_format=memory_format)
        return kern, (None if bias is None else bias.repeat(4))
    return split_kernels(weight, memory_format), bias


# ----------------------------------------------------------------------------
# forward computation (no autograd) and interleaving
# ----------------------------------------------------------------------------
def _out_format(t: Tensor):
    if t.dim() == 4 and t.is_contiguous(
            memory_format=torch.channels_last) and not t.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def _interleave(z: Tensor, y: Tensor, cout: int, h: int, w: int):
    """``y[n, c, 2m+rh, 2j+rw] = z[n, (2rh+rw)*C + c, m+rh, j+rw]``."""
    n = y.shape[0]
    if h % 2 == 0 and w % 2 == 0:
        # one strided copy: z seen as [N, C, h/2, 2(rh), w/2, 2(rw)]
        hh, ww = h // 2, w // 2
        sn, sc, sh, sw = z.stride()
        src = z.as_strided((n, cout, hh, 2, ww, 2),
                           (sn, sc, sh, 2 * cout * sc + sh, sw, cout * sc + sw),
                           z.storage_offset())
        y.view(n, cout, hh, 2, ww, 2).copy_(src)
        return
    for rh in (0, 1):
        hr = (h - rh + 1) // 2
        for rw in (0, 1):
            wr = (w - rw + 1) // 2
            c0 = (rh * 2 + rw) * cout
            y[:, :, rh::2, rw::2].copy_(z[:, c0:c0 + cout, rh:rh + hr,
                                          rw:rw + wr])


def _phase_forward(x: Tensor, kernel, kernel_bias: Optional[Tensor], k: int,
                   h: int, w: int, impl: str) -> Tensor:
    n = x.shape[0]
    if impl == 'fused':
        cout = kernel.shape[0] // 4
        z = F.conv2d(x, kernel, kernel_bias, padding=1)
        y = torch.empty((n, cout, h, w), dtype=z.dtype, device=z.device,
                        memory_format=_out_format(x))
        _interleave(z, y, cout, h, w)
        return y
    # split: four exact convolutions, phase (rh, rw) taken from index m + r
    pads = _SPLIT_PAD[k]
    cout = kernel[0].shape[0]
    y = torch.empty((n, cout, h, w), dtype=x.dtype, device=x.device,
                    memory_format=_out_format(x))
    for i in range(4):
        rh, rw = divmod(i, 2)
        hr, wr = (h - rh + 1) // 2, (w - rw + 1) // 2
        z = F.conv2d(x, kernel[i], kernel_bias, padding=(pads[rh], pads[rw]))
        y[:, :, rh::2, rw::2].copy_(z[:, :, rh:rh + hr, rw:rw + wr])
    return y


class _PhaseDeconvFunction(torch.autograd.Function):
    """Phase-decomposed forward; backward = the deconv's own adjoint.

    The backward does not differentiate through the phase convolution: it
    calls ``aten.convolution_backward`` of the equivalent transposed
    convolution (grad of input = the stride-2 ``Conv2d`` of the output
    gradient, grad of weight/bias as for ``nn.ConvTranspose2d``), which is as
    fast as a stride-2 Conv2d backward and saves only ``x`` and ``weight``.
    It is itself differentiable (double backward works).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, kernel, kernel_bias, h, w, impl):
        k = weight.shape[-1]
        if kernel is None:
            kernel, kernel_bias = _build_kernel(weight, bias, impl,
                                                _out_format(x))
        y = _phase_forward(x, kernel, kernel_bias, k, h, w, impl)
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        ctx.hw = (h, w)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, weight = ctx.saved_tensors
        H, W = x.shape[-2], x.shape[-1]
        h, w = ctx.hw
        if (h, w) != (2 * H, 2 * W):  # cropped rows/cols get zero gradient
            gy = F.pad(gy, (0, 2 * W - w, 0, 2 * H - h))
        op = 1 if weight.shape[-1] == 3 else 0
        mask = [ctx.needs_input_grad[0], ctx.needs_input_grad[1],
                ctx.needs_input_grad[2] and ctx.has_bias]
        gx, gw, gb = torch.ops.aten.convolution_backward(
            gy, x, weight, [weight.shape[1]] if ctx.has_bias else None,
            [2, 2], [1, 1], [1, 1], True, [op, op], 1, mask)
        return gx, gw, gb, None, None, None, None, None


# ----------------------------------------------------------------------------
# functional form
# ----------------------------------------------------------------------------
def _resolve_output_size(x: Tensor, output_size) -> Tuple[int, int]:
    H, W = x.shape[-2], x.shape[-1]
    if output_size is None:
        return 2 * H, 2 * W
    size = [int(s) for s in output_size]
    if len(size) == x.dim():
        size = size[-2:]
    if len(size) != 2:
        raise ValueError(f'output_size must have 2 (or {x.dim()}) elements, '
                         f'got {tuple(output_size)}')
    h, w = size
    if not (1 <= h <= 2 * H and 1 <= w <= 2 * W):
        raise ValueError(f'output_size {(h, w)} must be between (1, 1) and '
                         f'{(2 * H, 2 * W)} (2x the input {(H, W)}); the '
                         'output is cropped as output[..., :h, :w]')
    return h, w


def _check_input(x: Tensor):
    if x.dim() != 4:
        raise ValueError(
            f'PhaseDeconv2d expects a 4D NCHW input, got {x.dim()}D')


def _resolve_impl(impl: str, k: int, x: Tensor, cached: bool = False) -> str:
    if impl == 'auto':
        if (x.device.type != 'cpu'
                or _out_format(x) is torch.channels_last):
            return 'native'
        impl, min_hw = AUTO_POLICY[(k, cached)]
        return impl if x.shape[-2] * x.shape[-1] >= min_hw else 'native'
    if impl not in _IMPLS:
        raise ValueError(f'impl must be one of {_IMPLS}, got {impl!r}')
    return impl


def phase_deconv2d(x: Tensor,
                   weight: Tensor,
                   bias: Optional[Tensor] = None,
                   output_size: Optional[Sequence[int]] = None,
                   impl: str = 'auto',
                   kernel: Optional[Union[Tensor, Sequence[Tensor]]] = None,
                   kernel_bias: Optional[Tensor] = None) -> Tensor:
    """Functional stride-2/padding-1 deconv (k3/op1 or k4/op0).

    Equals ``F.conv_transpose2d(x, weight, bias, stride=2, padding=1,
    output_padding=1 if k == 3 else 0)[..., :h, :w]`` with ``(h, w) =
    output_size`` (default ``(2H, 2W)``), including its gradients.

    Args:
        kernel / kernel_bias: a precomputed (cached) :func:`phase_kernel` and
            ``bias.repeat(4)`` (``impl='fused'``) or :func:`split_kernels`
            and ``bias`` (``impl='split'``), to skip the per-call weight
            rearrangement. Must match ``weight``/``bias`` (gradients are
            computed from ``weight``).
    """
    _check_input(x)
    k = weight.shape[-1]
    if weight.dim() != 4 or k not in (3, 4) or weight.shape[-2] != k:
        raise ValueError(f'weight must be [Cin, Cout, k, k] with k in (3, 4), '
                         f'got {tuple(weight.shape)}')
    h, w = _resolve_output_size(x, output_size)
    impl = _resolve_impl(impl, k, x, cached=kernel is not None)
    if impl == 'native':
        y = F.conv_transpose2d(x, weight, bias, stride=2, padding=1,
                               output_padding=1 if k == 3 else 0)
        if (h, w) != tuple(y.shape[-2:]):
            y = y[..., :h, :w].contiguous(memory_format=_out_format(y))
        return y
    return _PhaseDeconvFunction.apply(x, weight, bias, kernel, kernel_bias, h,
                                      w, impl)


# ----------------------------------------------------------------------------
# modules
# ----------------------------------------------------------------------------
class PhaseDeconv2d(nn.Module):
    """Drop-in, exact, faster replacement of the ScaleNet stride-2 deconvs.

    Same constructor arguments, parameter names/shapes (``weight``
    ``[Cin, Cout, k, k]``, optional ``bias`` ``[Cout]``), default init and
    outputs as ``nn.ConvTranspose2d`` for the supported configurations
    (``k=3, s=2, p=1, op=1`` and ``k=4, s=2, p=1, op=0``; ``output_padding``
    defaults to the matching value). Other configurations raise ValueError.

    Args:
        impl: ``'auto'`` (measured fastest per kernel size / memory format,
            see :data:`AUTO_POLICY`), ``'fused'``, ``'split'`` or
            ``'native'``.

    ``forward(x, output_size=None)``: ``output_size`` (``(h, w)`` or the full
    ``(N, C, h, w)``) crops the trailing rows/cols, ``output[..., :h, :w]``;
    for k3 and ``output_size = (2H-1, 2W-1)`` this equals
    ``nn.ConvTranspose2d.forward(x, output_size=...)``.

    When no gradient w.r.t. ``weight`` is needed (``torch.no_grad()``, or a
    frozen weight) the rearranged kernel is cached and only rebuilt when the
    weight changes (in-place update, ``load_state_dict``, ``.to()``).
    :meth:`switch_to_deploy` makes the cache permanent (inference only).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: Union[int, Tuple[int, int]] = 3,
                 stride: Union[int, Tuple[int, int]] = 2,
                 padding: Union[int, Tuple[int, int]] = 1,
                 output_padding: Optional[Union[int, Tuple[int, int]]] = None,
                 groups: int = 1,
                 bias: bool = False,
                 dilation: Union[int, Tuple[int, int]] = 1,
                 padding_mode: str = 'zeros',
                 device=None,
                 dtype=None,
                 impl: str = 'auto'):
        super().__init__()
        k = _check_config(kernel_size, stride, padding, output_padding, groups,
                          dilation, padding_mode)
        if impl not in _IMPLS:
            raise ValueError(f'impl must be one of {_IMPLS}, got {impl!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = (k, k)
        self.stride = (2, 2)
        self.padding = (1, 1)
        self.output_padding = (1, 1) if k == 3 else (0, 0)
        self.dilation = (1, 1)
        self.groups = 1
        self.padding_mode = 'zeros'
        self.impl = impl
        self.deploy = False
        factory = {'device': device, 'dtype': dtype}
        self.weight = nn.Parameter(
            torch.empty((in_channels, out_channels, k, k), **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, **factory))
        else:
            self.register_parameter('bias', None)
        self._cache = {}  # impl -> (key, kernel, kernel_bias)
        self.reset_parameters()

    # same as torch.nn.modules.conv._ConvNd.reset_parameters
    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            # _calculate_fan_in_and_fan_out uses weight.size(1) * k * k, as
            # for nn.ConvTranspose2d (whose weight is [Cin, Cout/g, k, k]).
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                nn.init.uniform_(self.bias, -bound, bound)
        self._cache = {}

    def extra_repr(self) -> str:
        s = (f'{self.in_channels}, {self.out_channels}, '
             f'kernel_size={self.kernel_size}, stride={self.stride}, '
             f'padding={self.padding}, output_padding={self.output_padding}')
        if self.bias is None:
            s += ', bias=False'
        s += f', impl={self.impl!r}'
        if self.deploy:
            s += ', deploy=True'
        return s

    # -- kernel cache ---------------------------------------------------------
    def _key(self):
        key = [self.weight.data_ptr(), self.weight._version, self.weight.dtype,
               self.weight.device, tuple(self.weight.shape)]
        if self.bias is not None:
            key += [self.bias.data_ptr(), self.bias._version]
        return tuple(key)

    def _cached_kernel(self, impl, memory_format=torch.contiguous_format):
        key = self._key()
        c = self._cache.get((impl, memory_format))
        if c is None or c[0] != key:
            with torch.no_grad():
                kernel, kb = _build_kernel(self.weight, self.bias, impl,
                                           memory_format)
            self._cache[(impl, memory_format)] = c = (key, kernel, kb)
        return c[1], c[2]

    def _needs_param_grad(self) -> bool:
        if not torch.is_grad_enabled():
            return False
        return self.weight.requires_grad or (self.bias is not None
                                             and self.bias.requires_grad)

    def forward(self, x: Tensor, output_size: Optional[Sequence[int]] = None
                ) -> Tensor:
        _check_input(x)
        k = self.kernel_size[0]
        cached = self.deploy or not self._needs_param_grad()
        impl = _resolve_impl(self.impl, k, x, cached)
        if impl != 'native' and cached:
            kernel, kb = self._cached_kernel(impl, _out_format(x))
            return phase_deconv2d(x, self.weight, self.bias, output_size, impl,
                                  kernel=kernel, kernel_bias=kb)
        return phase_deconv2d(x, self.weight, self.bias, output_size, impl)

    def _apply(self, fn, *args, **kwargs):
        self._cache = {}
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True):
        if mode and not self.deploy:  # drop kernels cached during evaluation
            self._cache = {}
        return super().train(mode)

    # -- conversion -------------------------------------------------------------
    def switch_to_deploy(self) -> 'PhaseDeconv2d':
        """Inference mode: freeze ``weight``/``bias`` (``requires_grad=False``)
        and always use the precomputed kernel (rebuilt only if the weight
        tensor changes, e.g. by ``load_state_dict``). Returns ``self``."""
        self.deploy = True
        self.weight.requires_grad_(False)
        if self.bias is not None:
            self.bias.requires_grad_(False)
        self._cache = {}
        k = self.kernel_size[0]
        impl = AUTO_POLICY[(k, True)][0] if self.impl == 'auto' else self.impl
        if impl != 'native':  # auto: channels-last inputs use native
            self._cached_kernel(impl, torch.contiguous_format)
        return self

    @classmethod
    def from_conv_transpose(cls, m: nn.ConvTranspose2d, impl: str = 'auto',
                            deploy: bool = False) -> 'PhaseDeconv2d':
        """Build from an ``nn.ConvTranspose2d`` sharing (not copying) its
        parameters. Raises ValueError for unsupported configurations."""
        if not isinstance(m, nn.ConvTranspose2d):
            raise TypeError(f'expected nn.ConvTranspose2d, got {type(m)}')
        _check_config(m.kernel_size, m.stride, m.padding, m.output_padding,
                      m.groups, m.dilation, m.padding_mode)
        new = PhaseDeconv2d(m.in_channels, m.out_channels, m.kernel_size,
                            bias=m.bias is not None, device='meta', impl=impl)
        new.__class__ = cls  # skip DeployedPhaseDeconv2d.__init__ on meta
        new.weight = m.weight
        if m.bias is not None:
            new.bias = m.bias
        new._cache = {}
        new.train(m.training)
        if deploy or cls is DeployedPhaseDeconv2d:
            new.switch_to_deploy()
        return new

    def to_conv_transpose(self) -> nn.ConvTranspose2d:
        """The equivalent ``nn.ConvTranspose2d`` sharing the parameters."""
        m = nn.ConvTranspose2d(self.in_channels, self.out_channels,
                               self.kernel_size, 2, 1, self.output_padding,
                               bias=self.bias is not None,
                               device='meta')
        m.weight = self.weight
        if self.bias is not None:
            m.bias = self.bias
        m.train(self.training)
        return m


class DeployedPhaseDeconv2d(PhaseDeconv2d):
    """:class:`PhaseDeconv2d` already switched to deploy (inference) mode."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.switch_to_deploy()


def convert_deconvs(model: nn.Module, mode: str = 'phase', impl: str = 'auto',
                    include_subclasses: bool = False) -> int:
    """Replace every compatible ``nn.ConvTranspose2d`` of ``model`` in place.

    Compatible: k3/s2/p1/op1 or k4/s2/p1/op0, groups 1, dilation 1, zero
    padding, with or without bias. The replacement shares the original
    parameters (state-dict keys and shapes are unchanged).

    Args:
        mode: ``'phase'`` (trainable :class:`PhaseDeconv2d`) or ``'deploy'``
            (:class:`DeployedPhaseDeconv2d`, inference only).
        include_subclasses: also convert subclasses of ``nn.ConvTranspose2d``
            (e.g. mmcv's wrapper); by default only exact instances are
            converted since subclasses may override ``forward``.

    Returns:
        The number of modules replaced. ``model`` itself is not replaced if it
        is a deconv; use :meth:`PhaseDeconv2d.from_conv_transpose` for that.
    """
    if mode not in ('phase', 'deploy'):
        raise ValueError(f"mode must be 'phase' or 'deploy', got {mode!r}")
    cls = DeployedPhaseDeconv2d if mode == 'deploy' else PhaseDeconv2d
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if not is_supported_deconv(child):
                continue
            if not include_subclasses and type(child) is not nn.ConvTranspose2d:
                continue
            setattr(parent, name, cls.from_conv_transpose(child, impl=impl))
            count += 1
    return count


def revert_deconvs(model: nn.Module) -> int:
    """Replace every :class:`PhaseDeconv2d` in ``model`` by the equivalent
    ``nn.ConvTranspose2d`` (sharing parameters; deploy-frozen parameters get
    ``requires_grad=True`` back). Returns the number of modules replaced."""
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, PhaseDeconv2d):
                m = child.to_conv_transpose()
                if child.deploy:
                    m.weight.requires_grad_(True)
                    if m.bias is not None:
                        m.bias.requires_grad_(True)
                setattr(parent, name, m)
                count += 1
    return count
