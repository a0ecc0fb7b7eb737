"""deploy_for_cpu: a whole ScaleNet (or a classifier holding one) keeps its logits and drops every BN."""
import pytest
import torch
import torch.nn as nn

import scalenet_mm  # noqa: F401
from scalenet_mm.deploy import AffineReLU, OneDNNConv2d, OneDNNConvTranspose2d, deploy_for_cpu, onednn_available
from scalenet_mm.models import ScaleNet

# presets covering both stems, rocks U/N, 1-3 stem branches, last-down units E/C/D and none, k3 and k4 deconvs
PRESETS = [('vo6', 64), ('vo69', 48), ('ci7', 32), ('ci13', 32)]


def _randomise_bn(model: nn.Module) -> None:
    """Trained-looking statistics, so that folding is really exercised (fresh BNs are identities)."""
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.normal_(0, 0.2, generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.normal_(0, 0.2, generator=gen)


def _classifier(arch: str) -> nn.Module:
    torch.manual_seed(0)
    backbone = ScaleNet(arch, deconv_impl='phase')
    backbone.init_weights()
    _randomise_bn(backbone)
    head = nn.Linear(backbone.arch.out_channels, 10)
    return nn.Sequential(backbone, _Last(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), head).eval()


class _Last(nn.Module):
    def forward(self, feats):
        return feats[-1]


@pytest.mark.parametrize('arch,size', PRESETS)
@pytest.mark.parametrize('channels_last', [False, True])
def test_deployed_preset_keeps_logits(arch, size, channels_last):
    model = _classifier(arch)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    x = torch.randn(2, 3, size, size).contiguous(memory_format=fmt)
    with torch.inference_mode():
        expected = model(x)
    report = deploy_for_cpu(model, x, repeats=2)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    assert report['bn_folded'] + report['bn_relu_fused'] > 0
    if onednn_available():
        assert report['packed'] + report['kept_plain'] == len(report['layers']) > 0
        assert any(isinstance(m, (OneDNNConv2d, OneDNNConvTranspose2d)) for m in model.modules())
    with torch.inference_mode():
        torch.testing.assert_close(model(x), expected, rtol=1e-4, atol=1e-4)
        # another batch and size than the one it was tuned on
        y = torch.randn(1, 3, size + 8, size + 8).contiguous(memory_format=fmt)
        deployed = model(y)
    fresh = _classifier(arch).to(memory_format=fmt)
    with torch.inference_mode():
        torch.testing.assert_close(deployed, fresh(y), rtol=1e-4, atol=1e-4)


def test_features_and_input_gradients_survive_deploy():
    """Multi-level outputs (detection) and input gradients (Grad-CAM) work on the deployed backbone."""
    torch.manual_seed(0)
    backbone = ScaleNet('vo6', out_indices=(0, 1, 2, 'stage2.a3', 4)).eval()
    _randomise_bn(backbone)
    x = torch.randn(1, 3, 64, 64, requires_grad=True)
    expected = backbone(x)
    expected_grad = torch.autograd.grad(expected[-1].sum(), x)[0]
    deploy_for_cpu(backbone, autotune=False)
    outputs = backbone(x)
    for got, want in zip(outputs, expected):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    grad = torch.autograd.grad(outputs[-1].sum(), x)[0]
    torch.testing.assert_close(grad, expected_grad, rtol=1e-3, atol=1e-5)
    assert sum(isinstance(m, AffineReLU) for m in backbone.modules()) > 0


def test_deployed_model_refuses_training_and_needs_an_example_for_autotune():
    model = _classifier('ci7')
    with pytest.raises(ValueError, match='example_input'):
        deploy_for_cpu(model)
    deploy_for_cpu(model, autotune=False)
    with pytest.raises(RuntimeError, match='inference'):
        model.train()
    model.eval()  # still allowed


def test_mmpretrain_classifier_from_config():
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    classifier = MODELS.build(dict(
        type='ImageClassifier', backbone=dict(type='ScaleNet', arch='ci13'), neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=ScaleNet('ci13').arch.out_channels)))
    classifier.init_weights()
    _randomise_bn(classifier)
    classifier.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        expected = classifier(x, mode='tensor')
    deploy_for_cpu(classifier, x, repeats=2)
    with torch.inference_mode():
        torch.testing.assert_close(classifier(x, mode='tensor'), expected, rtol=1e-4, atol=1e-4)


def test_convolutions_it_cannot_pack_are_left_alone():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding='same'), nn.Conv2d(4, 4, 3, padding=1, padding_mode='reflect'),
                          nn.Conv2d(4, 4, 3, padding=1)).eval()
    x = torch.randn(1, 3, 8, 8)
    with torch.inference_mode():
        expected = model(x)
    report = deploy_for_cpu(model, x, repeats=2)
    assert type(model[0]) is nn.Conv2d and type(model[1]) is nn.Conv2d
    assert len(report['layers']) == (1 if onednn_available() else 0)
    with torch.inference_mode():
        torch.testing.assert_close(model(x), expected)
