"""Self-checks of the reference ``OriginalScaleNet`` against the authors' numbers (spec §10, §12, §14).

Data: scalenet_mm/models/backbones/reference_archs.json (32 archs) and tests/data/original_checkpoint_keys_vo21.txt.
"""
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from scalenet_mm.apis.flops import REFERENCE_JSON

from .original_scalenet import DoubleCouple, OriginalScaleNet, expand_dstyle

torch.set_num_threads(2)

DATA = Path(__file__).resolve().parents[1] / 'data'
ARCHS = json.loads(Path(REFERENCE_JSON).read_text())
BY_NAME = {e['name']: e for e in ARCHS}
assert len(ARCHS) == 32


@pytest.fixture(scope='module', params=[e['name'] for e in ARCHS])
def built(request):
    """(json entry, model in eval mode); module scope so each arch is built once."""
    entry = BY_NAME[request.param]
    torch.manual_seed(0)
    model = OriginalScaleNet(entry['arch']).eval()
    yield entry, model
    del model


@pytest.fixture(scope='module')
def traced(built):
    """ONE forward (with hooks, at the json input_size) + ONE real backward per arch, shared by the tests below."""
    entry, model = built
    model.zero_grad(set_to_none=True)
    H = entry['input_size']
    out, shapes = run_with_shape_hooks(model, entry['arch'], torch.randn(1, 3, H, H))
    out[0].sum().backward()
    dead = {n: p.numel() for n, p in model.named_parameters() if p.grad is None}
    model.zero_grad(set_to_none=True)
    return dict(entry=entry, out=out, shapes=shapes, dead=dead)


def run_with_shape_hooks(model, arch, x):
    """Run one forward and record the json ``stage_shapes`` via hooks; returns (output, shapes).

    stem_xK: stem outputs; stageN: main output y of the last block of stage N (before its transition or last-down);
    stageN_to_stageN+1: the transition outputs (x1, x2, x3) fed to the next stage; head_input: input of the head.
    """
    rec, handles = {}, []

    def shape(t):
        return list(t.shape[1:])

    def on_stem(_m, _inp, out):
        rec.update({f'stem_x{k + 1}': shape(t) for k, t in enumerate(out) if t is not None})

    def pre(key, multi=False):
        def hook(_m, args):
            rec[key] = [shape(t) for t in args[0] if t is not None] if multi else shape(args[0])
        return hook

    handles.append(model.pyramid.register_forward_hook(on_stem))
    S = arch['stages']
    for i in range(1, S + 1):
        last = getattr(model, f'stage{i}')[-1]
        if i < S:   # the pool P applied to y is the first op of the transition (spec §7)
            pool_y = last.down_res4 if isinstance(last, DoubleCouple) else last.down_res2
            handles.append(pool_y.register_forward_pre_hook(pre(f'stage{i}')))
            nxt = getattr(model, f'stage{i + 1}')[0]
            handles.append(nxt.register_forward_pre_hook(pre(f'stage{i}_to_stage{i + 1}', multi=True)))
        elif arch['last_down']:
            down = last.down_last4 if isinstance(last, DoubleCouple) else last.down_last2
            handles.append(down.register_forward_pre_hook(pre(f'stage{i}')))
    handles.append(model.summary.classifier1.register_forward_pre_hook(pre('head_input')))
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    if not arch['last_down']:
        rec[f'stage{S}'] = rec['head_input']
    return out, rec


# ----------------------------------------------------------------------------------------------------------------------
# per-arch checks
# ----------------------------------------------------------------------------------------------------------------------
def test_param_count(built):
    entry, model = built
    assert sum(p.numel() for p in model.parameters()) == entry['params']


def test_depth_module_count(built):
    entry, model = built
    kinds = {'conv2d': nn.Conv2d, 'deconv2d': nn.ConvTranspose2d, 'linear': nn.Linear}
    counts = {k: sum(type(m) is cls for m in model.modules()) for k, cls in kinds.items()}
    counts['total'] = sum(counts.values())
    assert counts['total'] == entry['depth_module_count']
    assert counts == entry['layer_counts']


def test_output_is_list_of_logits(traced):
    out = traced['out']
    assert isinstance(out, list) and len(out) == 1
    assert out[0].shape == (1, traced['entry']['arch']['nclass'])


def test_dead_param_modules(traced):
    """Modules whose params never reach the logits (spec §7.4, §11.4): a real backward leaves ``p.grad is None``."""
    dead = traced['dead']
    assert {n.rsplit('.', 1)[0] for n in dead} == set(traced['entry']['dead_param_modules'])
    assert sum(dead.values()) == traced['entry']['dead_params']


def test_stage_shapes(traced):
    assert traced['shapes'] == traced['entry']['stage_shapes']


# ----------------------------------------------------------------------------------------------------------------------
# vo21 checkpoint layout and input sizes (spec §10, §14)
# ----------------------------------------------------------------------------------------------------------------------
def _vo21_expected_keys():
    rows = []
    for line in (DATA / 'original_checkpoint_keys_vo21.txt').read_text().splitlines():
        if line.strip():
            key, shp = line.split()
            rows.append((key, [int(s) for s in shp.strip('[]').split(',') if s]))
    return rows


def test_vo21_state_dict_keys_exact():
    model = OriginalScaleNet(BY_NAME['vo21']['arch'])
    got = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    expected = _vo21_expected_keys()
    assert len(expected) == 300
    assert got == expected   # same keys, same shapes, same order


def test_vo21_input_sizes():
    model = OriginalScaleNet(BY_NAME['vo21']['arch']).eval()
    with torch.no_grad():
        for H in (224, 221):
            out = model(torch.randn(1, 3, H, H))
            assert isinstance(out, list) and len(out) == 1 and out[0].shape == (1, 1000)
        with pytest.raises(RuntimeError):
            model(torch.randn(1, 3, 225, 225))


# spec §10 "Sizes that work" (square inputs): (sizes swept around the window edges, rule)
_LOW, _MID = list(range(27, 35)), list(range(56, 68))
SIZE_RULES = {
    'vo21': (_LOW + _MID, lambda H: H >= 61 and H % 32 in (29, 30, 31, 0)),     # U, D-D-S: 32k-3..32k, k >= 2
    'vo72': (_LOW + _MID, lambda H: H >= 63 and (H + 1) % 32 in (0, 1, 2, 3)),  # N, D-D-S: 32k-1..32k+2
    'vo69': (list(range(27, 52)), lambda H: (H + 1) % 16 in (0, 1, 2, 3)),      # N, one D stage: 16k-1..16k+2
    'vo6': (_MID, lambda H: H % 32 in (31, 0)),                                 # U, branch 3: 32k-1, 32k
    'ci7': (list(range(4, 42)), lambda H: H % 8 == 0 and H >= 16),          # CIFAR D-D-S
    'ao1': (list(range(4, 42)), lambda H: H % 4 == 0),                      # CIFAR one stage
}


@pytest.mark.parametrize('name', sorted(SIZE_RULES))
def test_input_size_rules(name):
    """The reference fails exactly where the original fails (no size robustness, spec §10)."""
    sizes, rule = SIZE_RULES[name]
    model = OriginalScaleNet(BY_NAME[name]['arch']).eval()
    ok = []
    with torch.no_grad():
        for H in sizes:
            try:
                model(torch.randn(1, 3, H, H))
                ok.append(H)
            except RuntimeError:
                pass
    assert ok == [H for H in sizes if rule(H)]


# ----------------------------------------------------------------------------------------------------------------------
# rules that no released arch exercises fully
# ----------------------------------------------------------------------------------------------------------------------
def _cifar_arch(**kw):
    arch = dict(stages=1, depth=8, branch=3, rock='U', layers=[2], blocks=['D'], slink=['A'], growth=[2], expand=[],
                dfunc=[], nclass=10, last_down=False, last_dfuc='D', last_expand=4, version=2)
    arch.update(kw)
    return arch


def test_dstyle_expansion():
    assert expand_dstyle(None) == ('avgpool', 'convk3a', 'convk2')
    assert expand_dstyle('maxpool') == ('maxpool', 'convk3a', 'convk2')
    assert expand_dstyle(['maxpool', 'convk2m', 'convk2']) == ('maxpool', 'convk2m', 'convk2')


def test_single_to_single_transition():
    """S->S 'O' transition (spec §7.2): keys, widths, shapes; stem branch3 is dead since S blocks ignore x3."""
    arch = _cifar_arch(stages=2, layers=[2, 2], blocks=['S', 'S'], slink=['A', 'A'], growth=[2, 3], expand=[8],
                       dfunc=['O'], dstyle='maxpool', last_down=True, last_dfuc='C')
    model = OriginalScaleNet(arch).eval()
    sd = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert sd['stage1.1.down_res2x.downsize.weight'] == [8, 8, 2, 2]
    assert sd['stage1.1.comp_res2.weight'] == [16, 18, 1, 1]
    assert sd['stage1.1.comp_res1.weight'] == [19, 18, 1, 1]
    assert sd['stage2.1.down_last2.conv1.weight'] == [20, 16, 3, 3]
    out, shapes = run_with_shape_hooks(model, arch, torch.randn(1, 3, 32, 32))
    assert shapes['stage1_to_stage2'] == [[16, 16, 16], [19, 8, 8]]
    assert shapes['stage2'] == [16, 16, 16] and shapes['head_input'] == [20, 8, 8]
    out[0].sum().backward()
    assert {n.rsplit('.', 1)[0] for n, p in model.named_parameters() if p.grad is None} == {'pyramid.branch3.0'}


def test_version_identity_rule():
    """Version 1 keeps 1x1 convs with equal widths; versions 2/3 turn them into identities (spec §6)."""
    base = dict(BY_NAME['ci7']['arch'])
    v1 = OriginalScaleNet(dict(base, version=1))
    v2 = OriginalScaleNet(base)
    assert v1.state_dict()['stage1.2.comp_res4.weight'].shape == (44, 44, 1, 1)
    assert 'stage1.2.comp_res4.weight' not in v2.state_dict()
    assert v1.state_dict()['stage1.0.deconv3.weight'].shape[-1] == 4
    v3 = OriginalScaleNet(dict(base, version=3))
    d3 = v3.stage1[0].deconv3
    assert (d3.kernel_size, d3.stride, d3.padding, d3.output_padding) == ((3, 3), (2, 2), (1, 1), (1, 1))
    no_version = dict(base)
    no_version.pop('version')
    assert set(OriginalScaleNet(no_version).state_dict()) == set(v1.state_dict())   # missing version -> 1


def test_table4_variants():
    """downscale='pool' / upscale='interp' (spec §11.3): key names, Conv2d (He init) instead of deconvs."""
    arch = _cifar_arch(downscale='pool', downksp='311', upscale='interp', upmode='nearest', upksp='311')
    model = OriginalScaleNet(arch).eval()
    sd = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert sd['stage1.0.conv1.0.weight'] == [10, 8, 3, 3]
    assert sd['stage1.0.deconv3.1.weight'] == [10, 12, 3, 3]
    assert sd['stage1.0.deconv4.1.weight'] == [8, 10, 3, 3]
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in model.modules())
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 32))[0].shape == (1, 10)
    arch110 = _cifar_arch(upscale='interp', upksp='110', depth=64, growth=[0])
    w = OriginalScaleNet(arch110).stage1[0].deconv3[1].weight
    assert w.shape == (64, 64, 1, 1)
    assert abs(w.std().item() / math.sqrt(2.0 / 64) - 1) < 0.1


def test_slink_c_single_path():
    """slink 'C' (spec §11.4): D ignores x2/x3 and the inner skip; S keeps a1+x2 but drops y+x1."""
    torch.manual_seed(0)
    arch_a = _cifar_arch(stages=2, layers=[1, 1], blocks=['D', 'S'], slink=['A', 'A'], growth=[0, 0], expand=[0],
                         dfunc=['O'], dstyle='avgpool')
    arch_c = dict(arch_a, slink=['C', 'C'])
    ma, mc = OriginalScaleNet(arch_a).eval(), OriginalScaleNet(arch_c).eval()
    mc.load_state_dict(ma.state_dict())
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        x1, x2, x3 = ma.pyramid(x)
        blk = ma.stage1[0]
        a1 = blk.conv1(torch.relu(blk.bn1(x1)))
        a2 = blk.conv2(torch.relu(blk.bn2(a1)))
        a3 = blk.deconv3(torch.relu(blk.bn3(a2)))
        y = blk.deconv4(torch.relu(blk.bn4(a3))) + x1
        t = (blk.comp_res4(torch.cat([blk.down_res4(y), a3], 1)),
             blk.comp_res3(torch.cat([blk.down_res3(a3), a2], 1)), None)
        s = ma.stage2[0]
        b1 = s.conv1(torch.relu(s.bn1(t[0])))
        y2 = s.deconv2(torch.relu(s.bn2(b1 + t[1])))
        ref = ma.summary((y2,))[0]
        torch.testing.assert_close(mc(x)[0], ref)
        assert not torch.allclose(ma(x)[0], ref)


def test_init():
    """spec §11.1: Conv2d He-normal fan-out, ConvTranspose2d PyTorch default, BN 1/0, Linear fan-in bias 0."""
    torch.manual_seed(0)
    model = OriginalScaleNet(BY_NAME['vo20']['arch'])
    conv = model.stage3[0].conv1                       # 400x400x3x3
    assert abs(conv.weight.std().item() / math.sqrt(2.0 / (9 * 400)) - 1) < 0.02
    deconv = model.stage3[0].deconv2                   # weight [Cin, Cout, 3, 3]
    bound = 1.0 / math.sqrt(deconv.weight.shape[1] * 9)
    assert deconv.weight.abs().max().item() <= bound
    assert abs(deconv.weight.std().item() / (bound / math.sqrt(3)) - 1) < 0.02
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
    fc = model.summary.classifier1[4]
    assert torch.all(fc.bias == 0)
    assert abs(fc.weight.std().item() / math.sqrt(2.0 / fc.in_features) - 1) < 0.02
