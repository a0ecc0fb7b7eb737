"""OneDNNConv2d / OneDNNConvTranspose2d: pre-packed oneDNN weights give the plain convolutions' results."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from scalenet_mm.deploy import OneDNNConv2d, OneDNNConvTranspose2d, onednn_available
from scalenet_mm.models.layers.phase_deconv import PhaseDeconv2d

needs_onednn = pytest.mark.skipif(not onednn_available(), reason='this PyTorch build has no oneDNN packed ops')

CONVS = [  # (cin, cout, kernel, stride, padding, dilation, groups, bias)
    (8, 16, 3, 2, 1, 1, 1, False), (16, 8, 3, 1, 1, 1, 1, True), (12, 12, 2, 2, 0, 1, 1, False),
    (6, 9, 7, 2, 3, 1, 3, True), (10, 10, 1, 1, 0, 1, 1, False), (8, 8, 3, 1, 2, 2, 1, True)]


def _close(a, b):
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@needs_onednn
@pytest.mark.parametrize('cfg', CONVS)
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('fuse_relu', [False, True])
def test_conv_matches_plain_on_several_sizes(cfg, channels_last, fuse_relu):
    torch.manual_seed(0)
    cin, cout, k, s, p, d, g, bias = cfg
    conv = nn.Conv2d(cin, cout, k, s, p, d, g, bias=bias).eval()
    packed = OneDNNConv2d(conv, fuse_relu=fuse_relu).eval()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    # the weight is packed for the first shape; later batches and odd sizes must still be exact
    for shape in [(1, cin, 14, 14), (3, cin, 9, 11), (2, cin, 5, 7)]:
        x = torch.randn(shape).contiguous(memory_format=fmt)
        with torch.inference_mode():
            expected = conv(x)
            _close(packed(x), expected.relu() if fuse_relu else expected)


@needs_onednn
@pytest.mark.parametrize('kernel', [3, 4])
@pytest.mark.parametrize('bias', [False, True])
@pytest.mark.parametrize('channels_last', [False, True])
def test_deconv_matches_conv_transpose(kernel, bias, channels_last):
    torch.manual_seed(0)
    deconv = nn.ConvTranspose2d(6, 10, kernel, 2, 1, output_padding=1 if kernel == 3 else 0, bias=bias).eval()
    packed = OneDNNConvTranspose2d(deconv).eval()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for shape in [(1, 6, 7, 7), (2, 6, 5, 9), (1, 6, 1, 1)]:
        x = torch.randn(shape).contiguous(memory_format=fmt)
        with torch.inference_mode():
            _close(packed(x), deconv(x))


@needs_onednn
def test_deconv_from_phase_module_keeps_its_weights():
    torch.manual_seed(0)
    phase = PhaseDeconv2d(8, 8, 3, impl='split').eval()
    packed = OneDNNConvTranspose2d(phase).eval()
    x = torch.randn(2, 8, 6, 6)
    with torch.inference_mode():
        _close(packed(x), phase(x))


@needs_onednn
def test_in_place_weight_change_repacks():
    conv = nn.Conv2d(4, 4, 3, 1, 1).eval()
    packed = OneDNNConv2d(conv).eval()
    x = torch.randn(1, 4, 8, 8)
    with torch.inference_mode():
        before = packed(x)
    with torch.no_grad():
        packed.weight.mul_(2)
        packed.bias.mul_(2)
    with torch.inference_mode():
        _close(packed(x), 2 * before)


def test_input_gradients_use_the_plain_path():
    """Grad-CAM style use of a deployed model: gradients w.r.t. the input still flow, and match."""
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, 2, 1).eval()
    packed = OneDNNConv2d(conv, fuse_relu=True).eval()
    x = torch.randn(1, 4, 9, 9, requires_grad=True)
    packed(x).sum().backward()
    expected = torch.autograd.grad(F.relu(conv(x)).sum(), x)[0]
    _close(x.grad, expected)


def test_deploy_modules_refuse_training_and_bad_padding():
    packed = OneDNNConv2d(nn.Conv2d(3, 3, 3, padding=1))
    packed.eval()
    with pytest.raises(RuntimeError, match='inference-only'):
        packed.train()
    with pytest.raises(ValueError, match='zero padding'):
        OneDNNConv2d(nn.Conv2d(3, 3, 3, padding=1, padding_mode='reflect'))
    with pytest.raises(TypeError, match='nn.Conv2d'):
        OneDNNConv2d(nn.ConvTranspose2d(3, 3, 3))
    with pytest.raises(TypeError, match='transposed convolution'):
        OneDNNConvTranspose2d(nn.Conv2d(3, 3, 3))
    assert set(packed.state_dict()) == {'weight', 'bias'}
