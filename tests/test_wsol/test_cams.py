"""The CAM module: pytorch-grad-cam behind our adaptor (target layers from feature_info, tuple outputs,
batches), classic CAM, and equality with the maps of the implementation it replaced."""
import gc
import weakref

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import scalenet_mm  # noqa: F401
from scalenet_mm.wsol import (
    GRADIENT_METHODS,
    ClassicCAM,
    LibraryCAM,
    build_cam_extractor,
    classifier_cams,
    resolve_target_layer,
)


class LinearCAMNet(nn.Module):
    """features = identity(x) (a 'layer'), logits = fc(GAP(features))."""

    def __init__(self, c=4, k=3):
        super().__init__()
        self.features = nn.Identity()
        self.fc = nn.Linear(c, k)

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


def test_gradcam_and_layercam_linear_model_hand_computation():
    torch.manual_seed(0)
    net = LinearCAMNet()
    x = torch.rand(2, 4, 5, 6) + 0.1
    targets = torch.tensor([2, 0])
    area = 5 * 6
    w = net.fc.weight[targets] / area  # dS_c/dA_kij = W_ck / (H W)
    res = LibraryCAM(net, 'gradcam', 'features')(x, targets)
    expected = torch.einsum('nk,nkhw->nhw', w, x)
    torch.testing.assert_close(res.cams, expected.clamp(min=0))
    torch.testing.assert_close(res.scores, net(x))
    signed = LibraryCAM(net, 'gradcam', net.features, relu=False)(x, targets).cams
    torch.testing.assert_close(signed, expected)
    layer = LibraryCAM(net, 'layercam', 'features')(x, targets).cams
    torch.testing.assert_close(layer, torch.einsum('nk,nkhw->nhw', w.clamp(min=0), x).clamp(min=0))
    assert torch.equal(LibraryCAM(net, 'gradcam', 'features')(x).targets, net(x).argmax(1))  # top-1 default
    assert all(p.grad is None for p in net.parameters())  # no gradient left behind in the model


def test_frozen_model_still_has_gradients():
    net = LinearCAMNet()
    for p in net.parameters():
        p.requires_grad_(False)
    res = LibraryCAM(net, 'gradcam', 'features')(torch.randn(1, 4, 3, 3), 0)
    assert res.cams.shape == (1, 3, 3)


def _tiny_classifier(backbone):
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    return MODELS.build(dict(type='ImageClassifier', backbone=backbone,
                             head=dict(type='CAMHead', num_classes=3, in_channels=backbone.pop('_c'))))


TINY_ARCH = dict(stages=2, depth=8, layers=(1, 1), blocks=('D', 'S'), slink=('A', 'A'), growth=(0, 0),
                 expand=(8, ), dfunc=('O', ), dstyle='maxpool', rock='U', branch=1, last_down=False,
                 last_dfuc='D', last_expand=8, version=3, stem='imagenet')


@pytest.fixture(scope='module')
def scalenet_classifier():
    from scalenet_mm.models import ScaleNet
    torch.manual_seed(0)
    c = ScaleNet(arch=TINY_ARCH).out_channels[-1]
    model = _tiny_classifier(dict(type='ScaleNet', arch=TINY_ARCH, out_indices=(-1, ), _c=c))
    model.init_weights()
    return model.eval()


def _replaced_implementation(model, module, index, x, targets, layercam):
    """Today's Grad-CAM / LayerCAM (the code pytorch-grad-cam replaced): a forward hook on the layer, the
    gradient of the selected logits, channel-mean (Grad-CAM) or element-wise ReLU (LayerCAM) weights, ReLU."""
    store = {}

    def hook(m, i, out):
        store['a'] = out[index or 0] if isinstance(out, (tuple, list)) else out

    handle = module.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            scores = model.head(model.extract_feat(xg))
            grad = torch.autograd.grad(scores.gather(1, targets[:, None]).sum(), store['a'])[0]
    finally:
        handle.remove()
    act = store['a'].detach()
    weighted = grad.clamp(min=0) * act if layercam else grad.mean(dim=(2, 3), keepdim=True) * act
    return weighted.sum(dim=1).clamp(min=0)


def _normalised_at_input(maps, size):
    up = F.interpolate(maps[:, None].float(), size=size, mode='bilinear', align_corners=False)[:, 0]
    flat = up.flatten(1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    return ((flat - lo) / (hi - lo).clamp(min=1e-12)).reshape(up.shape)


@pytest.mark.parametrize('method', ['gradcam', 'layercam'])
def test_library_maps_equal_the_replaced_implementation(scalenet_classifier, method):
    model = scalenet_classifier
    net = model.backbone
    x = torch.randn(3, 3, 32, 32)
    targets = torch.tensor([0, 2, 1])
    # (our layer name, the module / tuple element today's code hooked, resolved by hand)
    layers = [(0, net.stem, 0), ('backbone.stage1', net.stage1[-1], 0), ('stage1.a3', net.stage1[-1], 1),
              ('stage1.a2', net.stage1[-1], 2), (2, net.stage2[-1], 0), ('stage2.a1', net.stage2[-1], 1),
              (-1, net.out_relu, None)]
    for layer, module, index in layers:
        new = build_cam_extractor(model, method, layer)(x, targets).cams
        old = _replaced_implementation(model, module, index, x, targets, method == 'layercam')
        assert new.shape == old.shape, layer
        diff = (_normalised_at_input(new, (32, 32)) - _normalised_at_input(old, (32, 32))).abs().max()
        assert diff <= 1e-5, (layer, float(diff))


def test_target_layers_come_from_feature_info(scalenet_classifier):
    model = scalenet_classifier
    for key in (0, 1, 'stage1.a3', 'stage2.a1', -1):
        info = model.backbone.get_feature_info(key)
        module, index, name = resolve_target_layer(model, key)
        assert module is model.backbone.get_submodule(info.module) and index == info.output_index
        assert name.startswith('backbone.')
    assert resolve_target_layer(model, 'backbone.stage1')[2] == 'backbone.stage1.y'
    with pytest.raises(ValueError, match='stage9'):
        resolve_target_layer(model, 'stage9')
    with pytest.raises(ValueError, match='stage1.a1'):
        resolve_target_layer(model, 'stage1.a1')  # a D stage has no a1 map
    with pytest.raises(ValueError, match="method 'cam'"):
        build_cam_extractor(model, 'cam', 'stage1')
    with pytest.raises(ValueError, match='unknown CAM method'):
        build_cam_extractor(model, 'gradcam3000')


def test_last_level_gradcam_is_classic_cam_for_a_cam_head(scalenet_classifier):
    model = scalenet_classifier
    x = torch.randn(2, 3, 32, 32)
    t = torch.tensor([0, 2])
    g = LibraryCAM(model, 'gradcam', -1, relu=False)(x, t).cams
    cam = ClassicCAM(model)(x, t).cams - model.head.cam_conv.bias[t][:, None, None]
    torch.testing.assert_close(g * g.shape[-1] * g.shape[-2], cam, rtol=1e-4, atol=1e-4)
    maps, scores = classifier_cams(model, x)
    assert maps.shape[:2] == (2, 3) and torch.allclose(scores.sum(1), torch.ones(2))  # softmax head


@pytest.mark.parametrize('method', GRADIENT_METHODS)
def test_every_library_method_runs_on_a_within_block_map(scalenet_classifier, method):
    res = build_cam_extractor(scalenet_classifier, method, 'stage1.a3')(torch.randn(2, 3, 32, 32), [1, 0])
    assert res.cams.shape == (2, 4, 4) and torch.isfinite(res.cams).all() and (res.cams >= 0).all()


def test_resnet_levels():
    model = _tiny_classifier(dict(type='ResNet', depth=18, base_channels=4, out_indices=(3, ), _c=32))
    model.eval()
    x = torch.randn(1, 3, 32, 32)
    assert resolve_target_layer(model, -1)[2] == 'backbone.layer4'
    assert build_cam_extractor(model, 'gradcam', 2)(x).cams.shape == (1, 4, 4)
    assert build_cam_extractor(model, 'layercam', 'backbone.layer3')(x).cams.shape == (1, 2, 2)


def test_no_graph_or_hook_left_after_call():
    net = LinearCAMNet()
    seen = []
    net.features.register_forward_hook(lambda m, i, o: seen.append(weakref.ref(o)))
    ext = LibraryCAM(net, 'gradcam', 'features')
    gc.disable()
    try:
        res = ext(torch.randn(2, 4, 3, 3))
        del res
        assert seen and seen[-1]() is None
    finally:
        gc.enable()
    assert len(net.features._forward_hooks) == 1  # only the probe
