"""The learnability probe: generator overrides are validated and restored, a run scores both gates, resumes
from its JSON, and the CLI's --quick mode works."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from scalenet_mm.datasets import localization_benchmark as bench
from scalenet_mm.experiments.learnability_probe import generator_overrides, probe, run_probe

TOOL = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools', 'probe_learnability.py')
TINY = dict(num_train=10, num_test=6, image_size=32, epochs=1, arch='demo-d2s2')


def test_overrides_apply_and_restore():
    before = (bench.CAMOUFLAGE, bench.SINGLE_DISTRACTORS)
    with generator_overrides({'CAMOUFLAGE': 0.1, 'SINGLE_DISTRACTORS': [0, 0]}):
        assert bench.CAMOUFLAGE == 0.1 and bench.SINGLE_DISTRACTORS == (0, 0)
        plain = bench.generate_benchmark_samples('v2', 2, 32, False, seed=1, split='test')
    assert (bench.CAMOUFLAGE, bench.SINGLE_DISTRACTORS) == before
    default = bench.generate_benchmark_samples('v2', 2, 32, False, seed=1, split='test')
    assert any((a.image != b.image).any() for a, b in zip(plain, default))


def test_overrides_reject_bad_input():
    before = bench.APPEARANCE_PROBS
    with pytest.raises(KeyError, match='tunable generator constants'):
        with generator_overrides({'NOT_A_KNOB': 1}):
            pass
    with pytest.raises(ValueError, match='summing to 1'):
        with generator_overrides({'APPEARANCE_PROBS': [1, 1, 0, 0, 0]}):
            pass
    with pytest.raises(TypeError, match='CLUSTER must be a float'):
        with generator_overrides({'CLUSTER': 'lots'}):
            pass
    assert bench.APPEARANCE_PROBS == before


def test_probe_scores_both_gates():
    res = probe(**TINY, log=lambda *_: None)
    assert set(res['controls']) >= {'centre_gaussian', 'full_image_box', 'saturation'}
    assert res['no_learning_gate']['gate'] == 'no-learning'
    assert res['learnability_gate']['scores']['trained CAM'] == res['cam_MaxBoxAccV2']
    assert 0 <= res['top1'] <= 100 and len(res['curve']) == 1


def test_cam_source_is_chosen_on_the_selection_split(monkeypatch, tmp_path):
    from scalenet_mm.experiments import learnability_probe as lp
    rendered = []
    render = bench.generate_benchmark_samples

    def spy(variant, num, *args, split='train', **kwargs):
        rendered.append((split, num))
        return render(variant, num, *args, split=split, **kwargs)

    monkeypatch.setattr(bench, 'generate_benchmark_samples', spy)
    res = probe(**TINY, num_selection=8, overlays=str(tmp_path / 'cams.png'), log=lambda *_: None)
    assert (tmp_path / 'cams.png').stat().st_size > 0
    assert ('selection', 8) in rendered and ('test', TINY['num_test']) in rendered
    sources = res['cam_sources']
    fused = {f'{name}+ms-mean' for name in lp.LIBRARY_CAM_SOURCES}
    assert set(sources) == {'cam', *lp.LIBRARY_CAM_SOURCES, *fused}  # ScaleNet publishes both levels
    chosen = res['selected_cam']['name']
    buckets = res['selected_cam']['by_size']
    assert set(buckets) <= set(lp.SIZE_BUCKETS) and sum(b['images'] for b in buckets.values()) == TINY['num_test']
    assert 0 <= res['selected_cam']['MaxBoxAcc@IoU0.7'] <= res['selected_cam']['MaxBoxAcc@IoU0.3'] <= 100
    assert sources[chosen]['selection'] == max(v['selection'] for v in sources.values())
    assert res['learnability_gate']['scores']['trained CAM'] == sources[chosen]['test']
    assert res['cam_MaxBoxAccV2'] == sources['cam']['test']
    plain = probe(**dict(TINY, arch='plain-cnn'), num_selection=4, controls=False, log=lambda *_: None)
    assert set(plain['cam_sources']) == {'cam'}  # no feature levels: the classic CAM only
    with pytest.raises(ValueError, match='num_selection'):
        probe(**TINY, num_selection=-1)


def test_plain_cnn_reference_learner():
    from scalenet_mm.experiments.learnability_probe import plain_cnn
    feat = plain_cnn()(torch.zeros(2, 3, 32, 32))
    assert len(feat) == 1 and feat[0].shape == (2, 256, 4, 4)  # stride 8, like wsol-d8
    res = probe(**dict(TINY, arch='plain-cnn'), controls=False, log=lambda *_: None)
    assert 0 <= res['top1'] <= 100 and 0 <= res['cam_MaxBoxAccV2'] <= 100


@pytest.mark.parametrize('arch, side', [('resnet18-16', 1), ('resnet18-16-s8', 4)])
def test_resnet_baselines_as_in_the_experiment_configs(arch, side):
    from scalenet_mm.experiments.learnability_probe import REFERENCE_BACKBONES
    backbone = REFERENCE_BACKBONES[arch]()
    assert sum(p.numel() for p in backbone.parameters()) == 717216  # configs/wsol/resnet18*_demo_cub.py
    backbone.eval()  # (mmpretrain's ResNet.train() returns None, so no chaining)
    assert backbone(torch.zeros(1, 3, 32, 32))[-1].shape == (1, 128, side, side)  # stride 32 / 8


def test_max_rotation_limits_the_shapes_orientation():
    import numpy as np

    def mirror_gap(alpha):  # how far the triangle is from left-right symmetric about its centre (pixel 24)
        return np.abs(alpha - alpha[:, ::-1]).max()

    def triangles():
        return [bench._shape_alpha(np.random.default_rng(s), 'triangle', 49, 24.5, 24.5, 16.0) for s in range(5)]

    with generator_overrides({'MAX_ROTATION': 0.0}):
        upright = triangles()
    assert all(mirror_gap(a) < 0.3 for a in upright)  # apex up, symmetric up to anti-aliasing: every seed
    assert max(mirror_gap(a) for a in triangles()) > 0.5  # any rotation: not symmetric


def test_run_probe_resumes_from_json(tmp_path, capsys):
    out = str(tmp_path / 'probe.json')
    first = run_probe(out, 'a', controls=False, **TINY)
    again = run_probe(out, 'a', controls=False, **TINY)
    assert again == json.loads(json.dumps(first)) and 'not rerun' in capsys.readouterr().out
    changed = run_probe(out, 'a', controls=False, **dict(TINY, seed=3))
    assert changed['key'] != first['key']


def test_run_probe_reruns_rows_of_another_generator_version(tmp_path, monkeypatch, capsys):
    """Overrides are relative to the generator's defaults, so a row rendered under other defaults is redone."""
    out = str(tmp_path / 'probe.json')
    first = run_probe(out, 'a', controls=False, **TINY)
    assert first['benchmark_version'] == bench.BENCHMARK_VERSION
    monkeypatch.setattr(bench, 'BENCHMARK_VERSION', bench.BENCHMARK_VERSION + 1)
    capsys.readouterr()
    again = run_probe(out, 'a', controls=False, **TINY)
    assert 'not rerun' not in capsys.readouterr().out and again['benchmark_version'] == bench.BENCHMARK_VERSION


def test_cli_quick(tmp_path, capsys):
    out = tmp_path / 'r.json'
    subprocess.run([sys.executable, TOOL, '--quick', '--out', str(out), '--set',
                    'CLUSTER=0.5'], check=True, capture_output=True)
    row = json.loads(out.read_text())['default']
    assert row['params']['overrides'] == {'CLUSTER': 0.5} and 'cam_MaxBoxAccV2' in row
    cli = _load_tool()
    cli.main(['--table', '--out', str(out)])
    table = capsys.readouterr().out
    head = f'| default | demo-d2s2, max pool | CLUSTER=0.5 (generator v{bench.BENCHMARK_VERSION}) | 20 / 10 / 1 |'
    assert head in table and f"{row['top1']:.1f}" in table
    with pytest.raises(SystemExit) as bad:
        cli.main(['--quick', '--set', 'CLUSTER'])
    assert bad.value.code == 2 and 'NAME=VALUE' in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match='run tools/probe_learnability.py'):
        cli.main(['--table', '--out', str(tmp_path / 'none.json')])


def _load_tool():
    spec = importlib.util.spec_from_file_location('probe_learnability', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_objects_in_front_are_never_hidden_by_clutter():
    clutter = {'CLUSTER': 1.0, 'SINGLE_DISTRACTORS': [3, 5], 'MIN_VISIBLE': 0.6}

    def visible_fractions():
        samples = bench.generate_benchmark_samples('v2', 40, 48, False, seed=1, split='test')
        return [o.visible for s in samples for o in s.objects]

    with generator_overrides(dict(clutter, OBJECTS_IN_FRONT=False)):
        behind = visible_fractions()
    with generator_overrides(dict(clutter, OBJECTS_IN_FRONT=True)):
        in_front = visible_fractions()
    assert min(behind) < 0.95  # clustered distractors do hide parts of some objects
    assert min(in_front) == 1.0  # objects on top: their whole mask (truncation aside) is visible
    with pytest.raises(TypeError, match='OBJECTS_IN_FRONT must be a bool'):
        with generator_overrides({'OBJECTS_IN_FRONT': 1}):
            pass
