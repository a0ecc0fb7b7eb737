import pytest
import torch
import torch.nn as nn

import scalenet_mm  # noqa: F401
from scalenet_mm.wsol import (ClassicCAM, GradCAM, GradCAMPlusPlus, LayerCAM, build_cam_extractor,
                              resolve_target_layer)


class LinearCAMNet(nn.Module):
    """features = identity(x) (a 'layer'), logits = fc(GAP(features))."""

    def __init__(self, c=4, k=3):
        super().__init__()
        self.features = nn.Identity()
        self.fc = nn.Linear(c, k)

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


def test_gradcam_linear_model_hand_computation():
    torch.manual_seed(0)
    net = LinearCAMNet()
    x = torch.randn(2, 4, 5, 6)
    targets = torch.tensor([2, 0])
    res = GradCAM(net, 'features')(x, targets)
    area = 5 * 6
    # dS_c/dA_kij = W_ck / (H W)  ->  weights = fc weights / area
    torch.testing.assert_close(res.weights, net.fc.weight[targets] / area)
    expected = torch.einsum('nk,nkhw->nhw', net.fc.weight[targets], x) / area
    torch.testing.assert_close(res.cams, expected.clamp(min=0))
    torch.testing.assert_close(res.scores, net(x))
    # unsigned map: relu=False keeps the CAM (without bias) / area
    signed = GradCAM(net, net.features, relu=False)(x, targets).cams
    torch.testing.assert_close(signed, expected)


def test_gradcam_defaults_to_top1():
    torch.manual_seed(1)
    net = LinearCAMNet()
    x = torch.randn(3, 4, 4, 4)
    res = GradCAM(net, 'features')(x)
    assert torch.equal(res.targets, net(x).argmax(1))


def test_layercam_and_gradcampp_linear():
    torch.manual_seed(2)
    net = LinearCAMNet()
    x = torch.rand(2, 4, 3, 3) + 0.1
    t = torch.tensor([1, 1])
    w = net.fc.weight[t] / 9
    lc = LayerCAM(net, 'features')(x, t)
    torch.testing.assert_close(lc.cams, torch.einsum('nk,nkhw->nhw', w.clamp(min=0), x).clamp(min=0))
    pp = GradCAMPlusPlus(net, 'features')(x, t)
    # constant gradient g per channel: alpha = 1 / (2 + sum(A) g) -> weight = HW relu(g) / (2 + sum(A) g)
    s = x.sum(dim=(2, 3))
    expected_w = torch.where(w > 0, 9 * w / (2 + s * w), torch.zeros_like(w))
    torch.testing.assert_close(pp.weights, expected_w)


def test_frozen_model_still_has_gradients():
    net = LinearCAMNet()
    for p in net.parameters():
        p.requires_grad_(False)
    res = GradCAM(net, 'features')(torch.randn(1, 4, 3, 3), 0)
    assert res.cams.shape == (1, 3, 3)


def _tiny_classifier(backbone):
    from mmpretrain.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    return MODELS.build(dict(type='ImageClassifier', backbone=backbone,
                             head=dict(type='CAMHead', num_classes=3, in_channels=backbone.pop('_c'))))


TINY_ARCH = dict(stages=2, depth=8, layers=(1, 1), blocks=('D', 'S'), slink=('A', 'A'), growth=(0, 0),
                 expand=(8, ), dfunc=('O', ), dstyle='maxpool', rock='U', branch=1, last_down=False,
                 last_dfuc='D', last_expand=8, version=3, stem='imagenet')


def test_scalenet_layers_match_backbone_features():
    torch.manual_seed(0)
    from scalenet_mm.models import ScaleNet
    bb = ScaleNet(arch=TINY_ARCH, out_indices=(-1, ))
    c = bb.out_channels[-1]
    model = _tiny_classifier(dict(type='ScaleNet', arch=TINY_ARCH, out_indices=(-1, ), _c=c))
    model.init_weights()
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    probe = ScaleNet(arch=TINY_ARCH, out_indices=(0, 1, 'stage1.a3', 2, -1)).eval()
    probe.load_state_dict(model.backbone.state_dict())
    feats = probe(x)
    for layer, ref in zip([0, 'backbone.stage1', 'stage1.a3', 2, -1], feats):
        res = GradCAM(model, layer)(x)
        module, idx, name = resolve_target_layer(model, layer)
        assert res.activations.shape == ref.shape, name
        torch.testing.assert_close(res.activations, ref, msg=name)
    # the last level with Grad-CAM == ReLU(classic CAM without bias) / area for a CAM head
    t = torch.tensor([0, 2])
    g = GradCAM(model, -1, relu=False)(x, t).cams
    cam = ClassicCAM(model)(x, t).cams - model.head.cam_conv.bias[t][:, None, None]
    torch.testing.assert_close(g * g.shape[-1] * g.shape[-2], cam, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError):
        resolve_target_layer(model, 'stage9')
    with pytest.raises(ValueError):
        build_cam_extractor(model, 'cam', 'stage1')


def test_resnet_levels():
    model = _tiny_classifier(dict(type='ResNet', depth=18, base_channels=4, out_indices=(3, ), _c=32))
    model.eval()
    x = torch.randn(1, 3, 32, 32)
    assert resolve_target_layer(model, -1)[2] == 'backbone.layer4'
    assert GradCAM(model, 2)(x).cams.shape == (1, 4, 4)
    assert build_cam_extractor(model, 'layercam', 'backbone.layer3')(x).cams.shape == (1, 2, 2)


def test_no_graph_kept_alive_after_call():
    """The tensor hook must not keep the autograd graph alive through a reference cycle."""
    import gc
    import weakref
    net = LinearCAMNet()
    seen = []
    net.features.register_forward_hook(lambda m, i, o: seen.append(weakref.ref(o)))
    ext = GradCAM(net, 'features')
    gc.disable()
    try:
        res = ext(torch.randn(2, 4, 3, 3))
        del res
        assert seen and seen[-1]() is None
    finally:
        gc.enable()
    assert not net.features._forward_hooks or len(net.features._forward_hooks) == 1  # only the probe
