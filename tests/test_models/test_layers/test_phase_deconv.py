"""PhaseDeconv2d: exact phase (sub-pixel) formulation of ScaleNet's stride-2 deconvs."""
import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    from scalenet_mm.models.layers import phase_deconv as pd
except ImportError:  # the package __init__ pulls optional deps (mmcv); the module itself needs only torch
    _path = Path(__file__).resolve().parents[3] / 'scalenet_mm' / 'models' / 'layers' / 'phase_deconv.py'
    _spec = importlib.util.spec_from_file_location('scalenet_mm_phase_deconv', _path)
    pd = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(pd)

PhaseDeconv2d = pd.PhaseDeconv2d
DeployedPhaseDeconv2d = pd.DeployedPhaseDeconv2d
convert_deconvs = pd.convert_deconvs
revert_deconvs = pd.revert_deconvs

IMPLS = ('fused', 'split', 'auto')
# (N, Cin, Cout, H, W): odd / even / non-square / 1x1 / batch > 1 / Cin != Cout
SHAPES = [(2, 3, 5, 5, 7), (1, 4, 4, 1, 1), (3, 6, 2, 4, 3), (2, 8, 8, 6, 6)]


@pytest.fixture(autouse=True)
def _single_thread():
    """These tensors are tiny: intra-op threads only add synchronisation stalls on a busy machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _deconv(cin, cout, k, bias=False, dtype=torch.float64):
    return nn.ConvTranspose2d(cin, cout, k, 2, 1, output_padding=1 if k == 3 else 0, bias=bias).to(dtype)


def _crops(k, H, W):
    yield None
    yield (2 * H - 1, 2 * W - 1)                     # k3: == ConvTranspose2d with output_padding 0
    yield (2 * H, max(1, 2 * W - 1))
    yield (max(1, 2 * H - 2), 2 * W)                 # even crop (single strided copy path)


def _grads(y, inputs, g):
    return torch.autograd.grad(y, inputs, g)


@pytest.mark.parametrize('k', [3, 4])
@pytest.mark.parametrize('impl', IMPLS)
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('bias', [False, True])
def test_matches_conv_transpose_float64(k, impl, channels_last, bias):
    torch.manual_seed(k * 100 + len(impl) + channels_last * 7 + bias)
    for N, cin, cout, H, W in SHAPES:
        ref = _deconv(cin, cout, k, bias)
        m = PhaseDeconv2d(cin, cout, k, bias=bias, impl=impl).double()
        m.load_state_dict(ref.state_dict())
        x = torch.randn(N, cin, H, W, dtype=torch.float64)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        for size in _crops(k, H, W):
            x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
            y1 = ref(x1)
            if size is not None:
                y1 = y1[..., :size[0], :size[1]]
            y2 = m(x2, output_size=size)
            assert y2.shape == y1.shape == (N, cout, *(size or (2 * H, 2 * W)))
            torch.testing.assert_close(y2, y1, rtol=1e-10, atol=1e-10)
            g = torch.randn_like(y1)
            p1 = [x1, ref.weight] + ([ref.bias] if bias else [])
            p2 = [x2, m.weight] + ([m.bias] if bias else [])
            for a, b in zip(_grads(y2, p2, g), _grads(y1, p1, g)):
                torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
            with torch.no_grad():  # cached-kernel path
                torch.testing.assert_close(m(x, output_size=size), y1.detach(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize('k', [3, 4])
@pytest.mark.parametrize('impl', IMPLS)
def test_matches_conv_transpose_float32(k, impl):
    torch.manual_seed(1)
    ref = _deconv(16, 24, k, dtype=torch.float32)
    m = PhaseDeconv2d.from_conv_transpose(ref, impl=impl)
    x1 = torch.randn(2, 16, 9, 12, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    y1, y2 = ref(x1), m(x2)
    torch.testing.assert_close(y2, y1, rtol=1e-5, atol=1e-5)
    g = torch.randn_like(y1)
    for a, b in zip(_grads(y2, [x2, m.weight], g), _grads(y1, [x1, ref.weight], g)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize('k', [3, 4])
@pytest.mark.parametrize('impl', ['fused', 'split'])
def test_gradcheck_and_double_backward(k, impl):
    torch.manual_seed(9)
    x = torch.randn(2, 2, 2, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 2, k, k, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)

    def f(x, w, b):
        return pd.phase_deconv2d(x, w, b, output_size=(3, 6), impl=impl)

    assert torch.autograd.gradcheck(f, (x, w, b))
    assert torch.autograd.gradgradcheck(f, (x, w, b))


def test_auto_policy():
    nchw, cl = torch.empty(1, 2, 32, 32), torch.empty(1, 2, 32, 32).contiguous(memory_format=torch.channels_last)
    small = torch.empty(1, 2, 7, 7)
    assert pd._resolve_impl('auto', 3, nchw) == 'split' and pd._resolve_impl('auto', 4, nchw) == 'fused'
    assert pd._resolve_impl('auto', 3, cl) == 'native' and pd._resolve_impl('auto', 4, cl) == 'native'
    assert pd._resolve_impl('auto', 3, small) == 'native'
    assert pd._resolve_impl('auto', 4, small, cached=True) == 'fused'
    assert pd._resolve_impl('split', 3, cl) == 'split'
    # large maps through the auto (split for k3 / fused for k4) path, train and eval
    torch.manual_seed(10)
    for k in (3, 4):
        ref = _deconv(3, 2, k)
        m = PhaseDeconv2d.from_conv_transpose(ref)
        x1 = torch.randn(2, 3, 32, 33, dtype=torch.float64, requires_grad=True)
        x2 = x1.detach().clone().requires_grad_()
        y1, y2 = ref(x1), m(x2)
        torch.testing.assert_close(y2, y1, rtol=1e-10, atol=1e-10)
        g = torch.randn_like(y1)
        for a, b in zip(_grads(y2, [x2, m.weight], g), _grads(y1, [x1, ref.weight], g)):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
        with torch.no_grad():
            torch.testing.assert_close(m.eval()(x1), y1, rtol=1e-10, atol=1e-10)


def test_k3_output_size_equals_conv_transpose_output_size():
    torch.manual_seed(2)
    ref = _deconv(3, 4, 3)
    m = PhaseDeconv2d.from_conv_transpose(ref)
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    for size in [(9, 11), (10, 11), (9, 12), (10, 12), [2, 4, 9, 11], torch.Size([9, 11])]:
        torch.testing.assert_close(m(x, output_size=size), ref(x, output_size=size), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match='output_size'):
        m(x, output_size=(11, 12))
    with pytest.raises(ValueError, match='output_size'):
        m(x, output_size=(10,))


@pytest.mark.parametrize('k', [3, 4])
def test_state_dict_round_trip_and_init(k):
    torch.manual_seed(3)
    ref = _deconv(6, 4, k, dtype=torch.float32)
    m = PhaseDeconv2d(6, 4, k)
    assert isinstance(m.weight, nn.Parameter) and m.weight.shape == ref.weight.shape == (6, 4, k, k)
    assert list(m.state_dict()) == list(ref.state_dict()) == ['weight']
    m.load_state_dict(ref.state_dict())
    ref2 = _deconv(6, 4, k, dtype=torch.float32)
    ref2.load_state_dict(m.state_dict())
    assert torch.equal(ref2.weight, ref.weight)
    mb, refb = PhaseDeconv2d(6, 4, k, bias=True), _deconv(6, 4, k, bias=True, dtype=torch.float32)
    assert list(mb.state_dict()) == list(refb.state_dict()) == ['weight', 'bias']
    mb.load_state_dict(refb.state_dict())
    # default init is ConvTranspose2d's: same RNG stream -> identical tensors
    torch.manual_seed(4)
    a = nn.ConvTranspose2d(6, 4, k, 2, 1, output_padding=1 if k == 3 else 0, bias=True)
    torch.manual_seed(4)
    b = PhaseDeconv2d(6, 4, k, bias=True)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)


def test_not_a_conv_subclass():
    m = PhaseDeconv2d(4, 4, 3)
    assert not isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.modules.conv._ConvNd))
    mro_names = {c.__name__ for c in type(m).__mro__}
    assert not mro_names & {'Conv2d', 'ConvTranspose2d', '_ConvNd'}


def test_mmengine_kaiming_conv2d_does_not_touch_it():
    init = pytest.importorskip('mmengine.model.weight_init')
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), PhaseDeconv2d(4, 4, 3))
    before = model[1].weight.detach().clone()
    init.initialize(model, dict(type='Kaiming', layer='Conv2d'))
    assert torch.equal(model[1].weight, before)
    init.initialize(model, dict(type='Constant', layer='PhaseDeconv2d', val=0.5))
    assert torch.all(model[1].weight == 0.5)


@pytest.mark.parametrize('mode', ['phase', 'deploy'])
def test_convert_and_revert(mode):
    torch.manual_seed(5)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(8, 8, 3, 2, 1, output_padding=1, bias=False),
        nn.Sequential(nn.BatchNorm2d(8), nn.ConvTranspose2d(8, 6, 4, 2, 1, bias=True)),
        nn.ConvTranspose2d(6, 6, 3, 2, 1, output_padding=0),    # op0: not supported, kept
        nn.ConvTranspose2d(6, 5, 4, 2, 1, groups=1, dilation=2),  # dilation 2: kept
    ).double().eval()
    x = torch.randn(2, 3, 5, 7, dtype=torch.float64)
    with torch.no_grad():
        y_ref = model(x)
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    assert convert_deconvs(model, mode=mode) == 2
    cls = DeployedPhaseDeconv2d if mode == 'deploy' else PhaseDeconv2d
    assert type(model[2]) is cls and type(model[3][1]) is cls
    assert type(model[4]) is nn.ConvTranspose2d and type(model[5]) is nn.ConvTranspose2d
    assert {k: v.shape for k, v in model.state_dict().items()} == {k: v.shape for k, v in sd.items()}
    with torch.no_grad():
        torch.testing.assert_close(model(x), y_ref, rtol=1e-12, atol=1e-12)
    if mode == 'phase':  # still trainable: gradients reach the original parameters
        model.train()
        model(x).sum().backward()
        assert model[2].weight.grad is not None and model[3][1].bias.grad is not None
    else:
        assert not model[2].weight.requires_grad
        # deploy kernels follow load_state_dict
        sd2 = {k: v + 0.1 if k.endswith('weight') else v for k, v in sd.items()}
        model.load_state_dict(sd2)
        with torch.no_grad():
            y2 = model(x)
        model.load_state_dict(sd)
        with torch.no_grad():
            torch.testing.assert_close(model(x), y_ref, rtol=1e-12, atol=1e-12)
        assert not torch.allclose(y2, y_ref)
    assert convert_deconvs(model) == 0  # idempotent
    assert revert_deconvs(model) == 2
    assert type(model[2]) is nn.ConvTranspose2d and type(model[3][1]) is nn.ConvTranspose2d
    assert model[2].weight.requires_grad
    model.load_state_dict(sd)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), y_ref, rtol=1e-12, atol=1e-12)


def test_deployed_module_and_cache_invalidation():
    torch.manual_seed(6)
    ref = _deconv(4, 3, 4)
    m = DeployedPhaseDeconv2d(4, 3, 4).double()
    m.load_state_dict(ref.state_dict())
    x = torch.randn(1, 4, 3, 5, dtype=torch.float64)
    torch.testing.assert_close(m(x), ref(x).detach(), rtol=1e-12, atol=1e-12)
    # eval-mode cache of a trainable module follows in-place updates (optimizer steps)
    p = PhaseDeconv2d.from_conv_transpose(ref).eval()
    with torch.no_grad():
        y0 = p(x)
        ref.weight.mul_(2)
        torch.testing.assert_close(p(x), 2 * y0, rtol=1e-12, atol=1e-12)


def test_training_step_matches_conv_transpose():
    torch.manual_seed(7)
    ref = _deconv(5, 4, 3)
    m = PhaseDeconv2d(5, 4, 3).double()
    m.load_state_dict(ref.state_dict())
    opt1, opt2 = torch.optim.SGD(ref.parameters(), lr=0.1), torch.optim.SGD(m.parameters(), lr=0.1)
    x = torch.randn(3, 5, 6, 5, dtype=torch.float64)
    for _ in range(3):
        for mod, opt in ((ref, opt1), (m, opt2)):
            opt.zero_grad()
            (mod(x) ** 2).mean().backward()
            opt.step()
    torch.testing.assert_close(m.weight, ref.weight, rtol=1e-12, atol=1e-12)


def test_functional_and_kernel_layout():
    torch.manual_seed(8)
    w = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    x = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    kern = pd.phase_kernel(w)
    assert kern.shape == (8, 3, 2, 2)
    # k3 == k4 with a zero-padded kernel
    w3 = torch.randn(3, 2, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(pd.phase_kernel(w3), pd.phase_kernel(F.pad(w3, (0, 1, 0, 1))))
    torch.testing.assert_close(pd.phase_deconv2d(x, w), F.conv_transpose2d(x, w, stride=2, padding=1))
    torch.testing.assert_close(pd.phase_deconv2d(x, w, impl='native', output_size=(7, 7)),
                               F.conv_transpose2d(x, w, stride=2, padding=1)[..., :7, :7])


@pytest.mark.parametrize('kwargs,match', [
    (dict(kernel_size=2), 'kernel_size'),
    (dict(kernel_size=5), 'kernel_size'),
    (dict(kernel_size=(3, 4)), 'kernel_size'),
    (dict(kernel_size=3, stride=1), 'stride'),
    (dict(kernel_size=4, stride=3), 'stride'),
    (dict(kernel_size=3, padding=0), 'padding'),
    (dict(kernel_size=3, output_padding=0), 'output_padding'),
    (dict(kernel_size=4, output_padding=1), 'output_padding'),
    (dict(kernel_size=3, groups=2), 'groups'),
    (dict(kernel_size=3, dilation=2), 'dilation'),
    (dict(kernel_size=3, impl='cuda'), 'impl'),
])
def test_unsupported_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        PhaseDeconv2d(4, 4, **kwargs)
    if 'impl' not in kwargs:
        assert 'supported: kernel_size=3, stride=2, padding=1, output_padding=1' in str(info.value)
        assert 'kernel_size=4, stride=2, padding=1, output_padding=0' in str(info.value)


def test_from_conv_transpose_rejects_unsupported():
    with pytest.raises(ValueError, match='supported'):
        PhaseDeconv2d.from_conv_transpose(nn.ConvTranspose2d(4, 4, 3, 1, 1))
    with pytest.raises(TypeError):
        PhaseDeconv2d.from_conv_transpose(nn.Conv2d(4, 4, 3))


def test_default_output_padding_and_repr():
    assert PhaseDeconv2d(2, 3, 3).output_padding == (1, 1)
    assert PhaseDeconv2d(2, 3, 4).output_padding == (0, 0)
    m = PhaseDeconv2d(2, 3, (4, 4), stride=(2, 2), padding=(1, 1), output_padding=0)
    assert 'kernel_size=(4, 4)' in repr(m)
    ct = m.to_conv_transpose()
    assert isinstance(ct, nn.ConvTranspose2d) and ct.weight is m.weight and ct.output_padding == (0, 0)
