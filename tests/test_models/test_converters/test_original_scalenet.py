"""Parity with the reference implementation, and the authors'-checkpoint converter."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.models import ImageClassifier

from scalenet_mm.models.backbones import ARCH_ZOO, ScaleNet
from scalenet_mm.models.converters import (
    OriginalKeyError,
    convert_original_state_dict,
    load_original_checkpoint,
    original_key_to_ours,
)
from tests.reference.original_scalenet import OriginalScaleNet

REPO = Path(__file__).resolve().parents[3]
# input sizes the reference accepts (spec §10), besides each preset's native size
EXTRA_SIZES = {'vo21': [(221, 253)], 'vo19': [(256, 224)], 'vo72': [(225, 226)], 'vo76': [(258, 255)],
               'vo69': [(223, 226)], 'vo53': [(210, 242)], 'vo6': [(223, 255)], 'vo37': [(222, 288)],
               'ci7': [(40, 48)], 'ci13': [(36, 44)], 'ao1': [(36, 28)], 'wa1': [(28, 40)], 'cu13': [(36, 40)]}


def randomised_reference(arch: dict, seed: int = 0) -> OriginalScaleNet:
    """A reference model with non-trivial BN statistics and affine parameters."""
    torch.manual_seed(seed)
    ref = OriginalScaleNet(arch)
    for m in ref.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    return ref.eval()


def classifier_for(name: str, num_classes: int) -> ImageClassifier:
    backbone = ScaleNet(name)
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # other tests may have left 'mmdet' current
        return ImageClassifier(backbone=dict(type='ScaleNet', arch=name), neck=dict(type='GlobalAveragePooling'),
                               head=dict(type='LinearClsHead', num_classes=num_classes,
                                         in_channels=backbone.arch.out_channels)).eval()


@pytest.mark.parametrize('name', sorted(ARCH_ZOO))
def test_logits_match_reference(name, reference_archs):
    entry = reference_archs[name]
    ref = randomised_reference(entry['arch'])
    converted, _ = convert_original_state_dict(ref.state_dict(), name)
    model = classifier_for(name, entry['arch']['nclass'])
    model.load_state_dict(converted, strict=True)
    size = entry['input_size']
    for h, w in [(size, size)] + EXTRA_SIZES.get(name, []):
        x = torch.randn(1, 3, h, w)
        with torch.no_grad():
            expected = ref(x)[0]
            got = model(x, mode='tensor')
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5 * float(expected.abs().max()))


def test_dead_keys_are_exactly_the_unbuilt_modules(reference_archs):
    for name, entry in reference_archs.items():
        ref = OriginalScaleNet(entry['arch'])
        _, dropped = convert_original_state_dict(ref.state_dict(), name)
        dead_modules = entry['dead_param_modules']
        for key in dropped:
            assert any(key.startswith(m + '.') or key.startswith(m.rsplit('.', 1)[0] + '.') for m in dead_modules)
        dead_params = sum(ref.state_dict()[k].numel() for k in dropped if not k.endswith(
            ('running_mean', 'running_var', 'num_batches_tracked')))
        assert dead_params == entry['dead_params'], name


def _vo21_key_list():
    keys = {}
    for line in (REPO / 'tests' / 'data' / 'original_checkpoint_keys_vo21.txt').read_text().splitlines():
        key, shape = line.split()
        dims = [int(d) for d in re.findall(r'\d+', shape)]
        keys[key] = torch.zeros(dims) if dims else torch.tensor(0)
    return keys


def test_vo21_key_layout_converts_and_round_trips():
    source = _vo21_key_list()
    assert len(source) == 300
    converted, dropped = convert_original_state_dict(source, 'vo21')
    assert sorted(dropped) == ['stage2.4.comp_res2.weight', 'stage2.4.down_res4x.downsize.0.weight']
    # our weights -> authors' layout -> converter -> our weights, exactly
    torch.manual_seed(1)
    ours = classifier_for('vo21', 1000)
    ours_sd = {k: torch.randn(v.shape) if v.is_floating_point() else v for k, v in ours.state_dict().items()}
    backbone = ScaleNet('vo21')
    exported = {key: (ours_sd[original_key_to_ours(key, backbone)] if key not in dropped else torch.randn(v.shape))
                for key, v in source.items()}
    back, _ = convert_original_state_dict({'model': {f'module.{k}': v for k, v in exported.items()}}, 'vo21')
    assert back.keys() == ours_sd.keys()
    for key in ours_sd:
        assert torch.equal(back[key], ours_sd[key]), key
    ours.load_state_dict(back, strict=True)


def test_wrong_arch_names_the_first_mismatching_key():
    source = _vo21_key_list()
    with pytest.raises(OriginalKeyError, match=r"key 'stage1\.3\.bn1\.weight'.*vo19|key 'stage2.4"):
        convert_original_state_dict(source, 'vo19')
    with pytest.raises(OriginalKeyError, match=r"key 'stage3\.4\.down_last2\.conv1\.weight' has shape"):
        convert_original_state_dict(source, dict(ARCH_ZOO['vo21'], last_expand=1000))
    incomplete = dict(source)
    del incomplete['stage1.0.conv1.weight']
    with pytest.raises(OriginalKeyError, match='stage1.0.conv1.weight'):
        convert_original_state_dict(incomplete, 'vo21')


class AuthorsConfig:
    """Stands for the authors' pickled training config; unpickling it must not run its code."""

    def __init__(self):
        self.lr = 0.1

    def __setstate__(self, state):
        raise RuntimeError('code from the checkpoint was executed')


def test_cli_converts_a_pickled_training_checkpoint(tmp_path):
    ref = randomised_reference(ARCH_ZOO['ci7'] | {'nclass': 10})
    src = tmp_path / 'ci7.ckpt'
    torch.save({'model': {f'module.{k}': v for k, v in ref.state_dict().items()}, 'config': AuthorsConfig(),
                'optimizer': {'lr': 0.1}}, src)
    assert load_original_checkpoint(str(src))['optimizer'] == {'lr': 0.1}
    dst = tmp_path / 'out' / 'ci7_mm.pth'
    out = subprocess.run([sys.executable, str(REPO / 'tools' / 'convert_original_checkpoint.py'), str(src),
                          str(dst), '--arch', 'ci7'], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert 'stage2.2.down_res4x.downsize.0.weight' in out.stdout
    checkpoint = torch.load(dst, map_location='cpu')
    model = classifier_for('ci7', 10)
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(model(x, mode='tensor'), ref(x)[0], rtol=1e-4, atol=1e-5)
    bad = subprocess.run([sys.executable, str(REPO / 'tools' / 'convert_original_checkpoint.py'), str(src),
                          str(tmp_path / 'bad.pth'), '--arch', 'ao1'], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "error: key '" in bad.stderr
