"""BN folding: conv->BN into one conv, and BN->ReLU as one affine + ReLU, in eval mode."""
import pytest
import torch
import torch.nn as nn

from scalenet_mm.deploy import AffineReLU, fold_bn_into_conv


def _trained_bn(channels: int) -> nn.BatchNorm2d:
    """A BN whose statistics and affine parameters are far from the identity (incl. negative scales)."""
    bn = nn.BatchNorm2d(channels)
    with torch.no_grad():
        bn.running_mean.normal_(0, 2)
        bn.running_var.uniform_(0.1, 3)
        bn.weight.normal_(0, 1)
        bn.bias.normal_(0, 1)
    return bn.eval()


@pytest.mark.parametrize('conv_bias', [False, True])
def test_fold_bn_into_conv(conv_bias):
    torch.manual_seed(0)
    conv, bn = nn.Conv2d(5, 7, 3, 2, 1, bias=conv_bias).eval(), _trained_bn(7)
    x = torch.randn(2, 5, 11, 9)
    fused = fold_bn_into_conv(conv, bn)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), bn(conv(x)), rtol=1e-5, atol=1e-5)
    assert not fused.weight.requires_grad


def test_affine_relu_equals_bn_relu():
    torch.manual_seed(0)
    bn = _trained_bn(6)
    x = torch.randn(3, 6, 5, 4).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        torch.testing.assert_close(AffineReLU(bn)(x), torch.relu(bn(x)), rtol=1e-5, atol=1e-6)


def test_clear_errors():
    with pytest.raises(TypeError, match='running statistics'):
        AffineReLU(nn.GroupNorm(2, 4))
    with pytest.raises(ValueError, match='6 channels'):
        fold_bn_into_conv(nn.Conv2d(3, 4, 1), _trained_bn(6))
    with pytest.raises(ValueError, match='4-channel BN'):
        AffineReLU(_trained_bn(4))(torch.randn(1, 3, 2, 2))
    with pytest.raises(RuntimeError, match='inference only'):
        AffineReLU(_trained_bn(4)).train()
