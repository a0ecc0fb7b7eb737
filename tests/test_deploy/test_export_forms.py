"""Export forms and switch_to_deploy: exact in PyTorch (no ONNX runtime needed)."""
import pytest
import torch
import torch.nn as nn

import scalenet_mm  # noqa: F401
from scalenet_mm.deploy import DECONV_FORMS, AffineReLU, BatchNormReLU, PhaseConvDeconv
from scalenet_mm.models import ScaleNet
from scalenet_mm.models.layers.phase_deconv import PhaseDeconv2d

from .test_cpu_inference import _randomise_bn


@pytest.mark.parametrize('kernel', [3, 4])
@pytest.mark.parametrize('bias', [False, True])
@pytest.mark.parametrize('form', DECONV_FORMS)
def test_deconv_forms_equal_conv_transpose(kernel, bias, form):
    if form == 'fused' and kernel == 4:
        with pytest.raises(ValueError, match='k3'):
            PhaseConvDeconv(nn.ConvTranspose2d(4, 4, 4, 2, 1, 0), form)
        return
    torch.manual_seed(0)
    deconv = nn.ConvTranspose2d(6, 5, kernel, 2, 1, 1 if kernel == 3 else 0, bias=bias).eval()
    x = torch.randn(2, 6, 7, 4)  # odd and non-square
    with torch.no_grad():
        torch.testing.assert_close(PhaseConvDeconv(deconv, form)(x), deconv(x), rtol=1e-5, atol=1e-5)
        phase = PhaseDeconv2d.from_conv_transpose(deconv)  # the same weights through the phase module
        torch.testing.assert_close(PhaseConvDeconv(phase, form)(x), deconv(x), rtol=1e-5, atol=1e-5)


def test_unsupported_deconvolution_is_refused():
    with pytest.raises(ValueError, match='no export form'):
        PhaseConvDeconv(nn.ConvTranspose2d(4, 4, 3, 1, 1), 'split')
    with pytest.raises(ValueError, match='must be one of'):
        PhaseConvDeconv(nn.ConvTranspose2d(4, 4, 3, 2, 1, 1), 'winograd')


def test_batchnorm_form_equals_affine_relu():
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(6)
    with torch.no_grad():
        bn.running_mean.normal_(0, 2)
        bn.running_var.uniform_(0.1, 3)
        bn.weight.normal_(0, 1)  # negative scales too
        bn.bias.normal_(0, 1)
    bn.eval()
    x = torch.randn(2, 6, 5, 3)
    affine = AffineReLU(bn)
    with torch.no_grad():
        torch.testing.assert_close(BatchNormReLU(affine)(x), affine(x), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(BatchNormReLU(affine).train()(x), torch.relu(bn(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('arch,size', [('vo6', 64), ('vo69', 48), ('ci13', 32)])
def test_scalenet_switch_to_deploy_is_exact_and_removes_every_bn(arch, size):
    torch.manual_seed(0)
    backbone = ScaleNet(arch, out_indices=(0, 1, -1), deconv_impl='phase')
    backbone.init_weights()
    _randomise_bn(backbone)
    backbone.eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected = backbone(x)
    report = backbone.switch_to_deploy()
    assert report['bn_folded'] + report['bn_relu_fused'] == sum(
        1 for m in ScaleNet(arch).modules() if isinstance(m, nn.BatchNorm2d))
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in backbone.modules())
    with torch.no_grad():
        for got, want in zip(backbone(x), expected):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    assert backbone.switch_to_deploy() == dict(bn_folded=0, bn_relu_fused=0)  # idempotent
    with pytest.raises(RuntimeError, match='inference'):
        backbone.train()


def test_group_norm_backbone_keeps_its_norms():
    backbone = ScaleNet('ci7', norm_cfg=dict(type='GN', num_groups=1)).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected = backbone(x)[-1]
    report = backbone.switch_to_deploy()
    assert report == dict(bn_folded=0, bn_relu_fused=0)
    with torch.no_grad():
        torch.testing.assert_close(backbone(x)[-1], expected)
