"""ScaleNet backbone: presets vs the reference numbers, shapes at any size, mm conventions, ablation switches."""
import copy
import math
import random

import pytest
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from scalenet_mm.models.backbones import ARCH_ZOO, ArchError, ScaleNet, scalenet_depth, scalenet_name

ALL_PRESETS = sorted(ARCH_ZOO)
IMAGENET = [k for k in ALL_PRESETS if ARCH_ZOO[k]['stem'] == 'imagenet']


def stem_side(model: ScaleNet, side: int) -> int:
    """Side of the stem output: the reference's own rounding (spec §10)."""
    if model.stem_type == 'cifar':
        return side
    half = math.ceil(side / 2)
    return math.ceil(half / 2) if model.arch.rock == 'U' else half // 2


def expected_side(model: ScaleNet, side: int, stride: int) -> int:
    """Everything after the stem rounds up."""
    return math.ceil(stem_side(model, side) / (stride // model.stem.stride))


def all_levels(model: ScaleNet):
    return list(range(model.num_levels))


@pytest.mark.parametrize('name', ALL_PRESETS)
def test_preset_matches_reference_numbers(name, reference_archs):
    ref = reference_archs[name]
    model = ScaleNet(name, out_indices=all_levels(ScaleNet(name)))
    n_params = sum(p.numel() for p in model.parameters())
    linear = (model.arch.out_channels + 1) * ref['arch']['nclass']  # the classifier is the head's, not ours
    assert n_params + linear == ref['params'] - ref['dead_params']
    assert model.depth == ref['depth_module_count'] == scalenet_depth(ref['arch'])
    if ref['paper_depth'] is not None and name != 'vx8':  # spec §12: vx8 counts 220, the paper says 222
        assert model.depth == ref['paper_depth']
    assert scalenet_name(name).startswith(f'ScaleNet{model.depth}-')
    # stage shapes at the native input size
    size = ref['input_size']
    model.eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, size, size))
    shapes = ref['stage_shapes']
    assert list(outs[0].shape[1:]) == shapes['stem_x1']
    for i in range(1, model.arch.stages + 1):
        assert list(outs[i].shape[1:]) == shapes[f'stage{i}']
    assert list(outs[-1].shape[1:]) == shapes['head_input']
    assert [f.channels for f in model.out_feature_info] == [o.shape[1] for o in outs]


@pytest.mark.parametrize('name', ALL_PRESETS)
def test_every_parameter_receives_gradient(name):
    model = ScaleNet(name)
    model.init_weights()
    model.train()
    size = 48 if ARCH_ZOO[name]['stem'] == 'imagenet' else 16
    out = model(torch.randn(2, 3, size, size))[-1]
    out.square().mean().backward()
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert not unused, f'parameters never used: {unused}'
    assert model.stem.branch1.conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('name', ['vo21', 'vo69', 'vo6', 'vo72', 'ci7', 'ci13', 'ao1', 'vx8'])
def test_any_input_size_gives_documented_strides(name):
    rng = random.Random(name)
    tap = 'a2' if ARCH_ZOO[name]['blocks'][0] == 'D' else 'a1'
    model = ScaleNet(name, out_indices=all_levels(ScaleNet(name)) + ['stage1.y', f'stage1.{tap}'])
    model.eval()
    lo = model.min_input_size
    sizes = [(lo, lo), (lo + 1, 2 * lo + 3)] + [(rng.randint(max(lo, 33), 300), rng.randint(max(lo, 33), 300))
                                               for _ in range(3)]
    for h, w in sizes:
        with torch.no_grad():
            outs = model(torch.randn(1, 3, h, w))
        for out, info in zip(outs, model.out_feature_info):
            expected = (expected_side(model, h, info.stride), expected_side(model, w, info.stride))
            assert tuple(out.shape[-2:]) == expected, (info, h, w)
            assert out.shape[1] == info.channels
            assert torch.isfinite(out).all()


@pytest.mark.parametrize('name', ['vo21', 'ci7'])
def test_below_minimum_size_is_a_clear_error(name):
    model = ScaleNet(name)
    lo = model.min_input_size
    with pytest.raises(ValueError, match=f'at least {lo}x{lo}'):
        model(torch.randn(1, 3, lo - 1, 2 * lo))


def test_documented_vo21_levels():
    model = ScaleNet('D4D5S5', out_indices=(1, 2, 3, 4))
    infos = model.out_feature_info
    assert [(f.channels, f.stride) for f in infos] == [(80, 4), (160, 8), (400, 16), (1746, 32)]
    assert model.min_input_size == 32
    outs = model.eval()(torch.randn(1, 3, 224, 224))
    assert [tuple(o.shape[1:]) for o in outs] == [(80, 56, 56), (160, 28, 28), (400, 14, 14), (1746, 7, 7)]


def test_within_block_pyramid_taps():
    model = ScaleNet('vo21', out_indices=('stage2.y', 'stage2.a3', 'stage2.a2', 'stage3.a1', -1)).eval()
    outs = model(torch.randn(1, 3, 224, 224))
    assert [tuple(o.shape[1:]) for o in outs] == [(160, 28, 28), (160, 14, 14), (160, 7, 7), (400, 7, 7),
                                                   (1746, 7, 7)]


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ArchError, match='Unknown ScaleNet arch'):
        ScaleNet('vo999')
    with pytest.raises(ArchError, match='ambiguous'):
        ScaleNet('D3D3S3')
    arch = dict(ARCH_ZOO['ci7'])
    with pytest.raises(ArchError, match="did you mean 'layers'"):
        ScaleNet(dict(arch, layerz=(1, 1, 1)))
    with pytest.raises(ArchError, match="'layers' needs 3 entries"):
        ScaleNet(dict(arch, layers=(1, 1)))
    with pytest.raises(ArchError, match="'D' stages must come before"):
        ScaleNet(dict(arch, blocks=('D', 'S', 'D')))
    custom = {k: v for k, v in arch.items() if k != 'stem'}
    with pytest.raises(ArchError, match='stem_type'):
        ScaleNet(custom)
    assert ScaleNet(custom, stem_type='cifar').stem_type == 'cifar'
    with pytest.raises(ValueError, match='out_indices entry 9'):
        ScaleNet('ci7', out_indices=(9, ))
    with pytest.raises(ValueError, match='4 input channels'):
        ScaleNet('ci7', in_channels=4)(torch.randn(1, 3, 32, 32))


def test_preset_names_resolve_to_the_same_arch():
    for alias in ('vo21', 'D4D5S5', 'd4d5s5', 'imagenet_d4d5s5', 'ScaleNet54-D4D5S5'):
        assert ScaleNet(alias).preset == 'vo21'
    assert ScaleNet('cifar10_d20s5_98l').preset == 'ci13'
    # the stem type is an explicit choice: an ImageNet stem with a CIFAR-style arch works
    model = ScaleNet('ci7', stem_type='imagenet')
    assert model.stem.stride == 4


def test_frozen_stages_and_train_mode():
    model = ScaleNet('ci7', frozen_stages=1)
    model.train()
    frozen = [model.stem, model.stage1, model.transition1]
    for module in frozen:
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules() if isinstance(m, _BatchNorm))
    assert all(p.requires_grad for p in model.stage2.parameters())
    assert all(m.training for m in model.stage2.modules() if isinstance(m, _BatchNorm))
    model = ScaleNet('ci7', frozen_stages=3)
    model.train()
    assert not any(p.requires_grad for p in model.parameters())


def test_norm_eval_keeps_statistics():
    model = ScaleNet('ci7', norm_eval=True)
    model.train()
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    before = model.stage1[0].bn1.running_mean.clone()
    model(torch.randn(2, 3, 32, 32))
    assert torch.equal(before, model.stage1[0].bn1.running_mean)


def test_with_cp_gives_identical_gradients_and_statistics():
    torch.manual_seed(0)
    plain = ScaleNet('ci7')
    plain.init_weights()
    ckpt = copy.deepcopy(plain)
    ckpt.with_cp = True
    x = torch.randn(2, 3, 32, 32)
    for model in (plain, ckpt):
        model.train()
        model(x.clone().requires_grad_())[-1].sum().backward()
    for (name, p1), (_, p2) in zip(plain.named_parameters(), ckpt.named_parameters()):
        torch.testing.assert_close(p1.grad, p2.grad, rtol=1e-5, atol=1e-6, msg=name)
    for (name, b1), (_, b2) in zip(plain.named_buffers(), ckpt.named_buffers()):
        torch.testing.assert_close(b1, b2, msg=name)


@pytest.mark.parametrize('norm_cfg', [dict(type='SyncBN'), dict(type='GN', num_groups=2)])
def test_norm_configs_build(norm_cfg):
    model = ScaleNet('ci7', norm_cfg=norm_cfg)
    kinds = {type(m).__name__ for m in model.modules()}
    assert ('SyncBatchNorm' if norm_cfg['type'] == 'SyncBN' else 'GroupNorm') in kinds
    assert 'BatchNorm2d' not in kinds
    if norm_cfg['type'] == 'GN':
        model(torch.randn(1, 3, 32, 32))[-1].sum().backward()


def test_zero_init_residual_makes_blocks_identities():
    model = ScaleNet('wa1', zero_init_residual=True)
    model.init_weights()
    block = model.stage1[0]
    assert torch.count_nonzero(block.last_norm.weight) == 0
    x1 = torch.randn(1, 64, 8, 8)
    y, _, _ = block.eval()(x1, None, None)
    torch.testing.assert_close(y, x1)


def test_reference_init():
    model = ScaleNet('ci7')
    model.init_weights()
    conv = model.stage1[0].conv1.weight
    fan_out = conv.shape[0] * conv.shape[2] * conv.shape[3]
    assert abs(conv.std().item() - math.sqrt(2 / fan_out)) < 0.2 * math.sqrt(2 / fan_out)
    deconv = model.stage1[0].deconv3  # left at PyTorch's default uniform init
    bound = 1 / math.sqrt(deconv.weight.shape[1] * deconv.weight.shape[2] * deconv.weight.shape[3])
    assert deconv.weight.abs().max() <= bound
    assert torch.all(model.stage1[0].bn1.weight == 1)


def _count(model, cls):
    return sum(isinstance(m, cls) for m in model.modules())


def test_ablation_switches_change_the_graph():
    base = ScaleNet('wa1')
    torch.manual_seed(0)
    x = torch.randn(1, 3, 32, 32)
    base.init_weights()
    base.eval()
    # residual wiring: same parameters (the stem's branches 2/3 are dead without cross-block skips)
    single = ScaleNet('wa1', residual='singlepath').eval()
    assert not hasattr(single.stem, 'branch2') and not hasattr(single.stem, 'branch3')
    state = {k: v for k, v in base.state_dict().items() if not k.startswith(('stem.branch2', 'stem.branch3'))}
    single.load_state_dict(state)
    none = ScaleNet('wa1', residual='none').eval()
    none.load_state_dict(state)
    outs = [m(x)[-1] for m in (base, single, none)]
    assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[1], outs[2])
    # singlepath: the output of a D block is deconv4(deconv3(conv2(conv1(x)))) + x
    blk = single.stage1[0]
    x1 = torch.randn(1, 64, 8, 8)
    manual = blk.brc(4, blk.brc(3, blk.brc(2, blk.brc(1, x1)))) + x1
    torch.testing.assert_close(blk(x1, torch.randn(1, 54, 4, 4), None)[0], manual)
    # Table 4: conv+pool down-sampling, interpolation+conv up-sampling
    pool = ScaleNet('wa1', downsample='pool')
    assert isinstance(pool.stage1[0].conv1, nn.Sequential) and pool.stage1[0].conv1[0].stride == (1, 1)
    assert isinstance(pool.stage1[0].conv1[1], nn.MaxPool2d)
    interp = ScaleNet('wa1', upsample='interp')
    assert _count(interp, nn.ConvTranspose2d) == 0 and _count(interp, nn.Upsample) == 14
    # deconv versions
    assert ScaleNet('wa1', deconv_kernel=3).stage1[0].deconv3.kernel_size == (3, 3)
    assert ScaleNet('wa1', deconv_kernel=4).stage1[0].deconv3.kernel_size == (4, 4)
    for model in (pool, interp):
        assert model.eval()(x)[-1].shape == base(x)[-1].shape


@pytest.mark.parametrize('name,size,impl,mode', [('vo21', 224, 'split', 'phase'), ('vo21', 160, 'fused', 'deploy'),
                                                  ('ci7', 32, 'fused', 'phase'), ('ci7', 40, 'split', 'deploy')])
def test_phase_deconv_path_matches_native_logits(name, size, impl, mode):
    from scalenet_mm.models.layers.phase_deconv import convert_deconvs
    torch.manual_seed(0)
    native = ScaleNet(name)
    native.init_weights()
    native.eval()
    fast = copy.deepcopy(native)
    replaced = convert_deconvs(fast, mode=mode, impl=impl)
    assert replaced == sum(isinstance(m, nn.ConvTranspose2d) for m in native.modules()) > 0
    assert _count(fast, nn.ConvTranspose2d) == 0
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected, got = native(x)[-1], fast(x)[-1]
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5 * float(expected.abs().max()))
    # the config switch builds the same network with the same state dict
    assert ScaleNet(name, deconv_impl='phase').state_dict().keys() == native.state_dict().keys()
