"""ONNX export run for real: parity with PyTorch in ONNX Runtime and OpenVINO, metadata, forms, clear errors."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn

import scalenet_mm  # noqa: F401
from scalenet_mm.deploy import (
    DECONV_FORMS,
    ExportError,
    create_session,
    deploy_for_cpu,
    export_onnx,
    onednn_available,
    prepare_for_export,
    read_metadata,
    verify_onnx,
)
from scalenet_mm.deploy.model_builder import build_export_model
from scalenet_mm.deploy.pipeline import export_model

from .test_cpu_inference import _randomise_bn

pytest.importorskip('onnxruntime')
pytest.importorskip('openvino')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ENGINES = ('onnxruntime', 'openvino')
DEMO_CONFIG = osp.join(REPO, 'configs', 'scalenet', 'demo_embedded.py')
DETECTOR_CONFIG = osp.join(REPO, 'configs', 'detection', 'embedded', 'faster-rcnn_scalenet-tiny_fpn_shapes.py')


def _preset(arch: str, out_indices=None) -> nn.Module:
    torch.manual_seed(0)
    built = build_export_model(arch, out_indices=out_indices, num_classes=10)
    _randomise_bn(built.module)
    return built


def test_small_preset_exports_exactly_to_both_runtimes(tmp_path):
    """Fast variant: ci7 (k3 deconvs) with the phase forms, dynamic batch and size, both runtimes."""
    built = _preset('ci7')
    x = torch.randn(1, 3, 32, 32)
    model, report = prepare_for_export(built.module, x, deconv_forms=['split'], norm_forms=['batchnorm'],
                                       engine='onnxruntime')
    assert set(report['forms']) == {'deconv:split', 'norm:batchnorm'}
    path = export_onnx(model, str(tmp_path / 'm.onnx'), x, ['logits'])
    import onnx
    ops = {node.op_type for node in onnx.load(path).graph.node}
    assert 'ConvTranspose' not in ops and 'Pad' not in ops and 'DepthToSpace' in ops  # pads folded into Convs
    checks = verify_onnx(path, built.module, sizes=[32, 64], engines=ENGINES, batch=3)
    assert len(checks) == 4 and max(c['max_abs_diff'] for c in checks) <= 1e-4


@pytest.mark.slow
@pytest.mark.parametrize('deconv_form', DECONV_FORMS)
def test_every_deconv_form_exports_exactly(tmp_path, deconv_form):
    """vo6 (k3 deconvs, ImageNet stem) with one form forced everywhere, dynamic shapes, both runtimes."""
    built = _preset('vo6')
    x = torch.randn(1, 3, 64, 64)
    model, report = prepare_for_export(built.module, x, deconv_forms=[deconv_form], norm_forms=['affine'],
                                       engine='onnxruntime', repeats=1)
    assert set(report['forms']) == {f'deconv:{deconv_form}', 'norm:affine'}
    path = export_onnx(model, str(tmp_path / 'm.onnx'), x, ['logits'])
    checks = verify_onnx(path, built.module, sizes=[64, 96], engines=ENGINES, batch=2)
    assert len(checks) == 4 and max(c['max_abs_diff'] for c in checks) <= 1e-4


@pytest.mark.slow
def test_measured_forms_per_engine_and_backbone_features(tmp_path):
    """k4 deconvs (ci13, CIFAR stem), multi-level outputs, forms measured in each engine."""
    built = _preset('ci13', out_indices=(0, 1, -1))
    x = torch.randn(1, 3, 32, 32)
    for engine in ENGINES:
        model, report = prepare_for_export(built.module, x, engine, repeats=2)
        assert all(choice['form'] == min(choice['times_ms'], key=choice['times_ms'].get)
                   for choice in report['choices'] if choice['times_ms'])
        assert {c['kind'] for c in report['choices']} == {'deconv', 'norm'}
        path = export_onnx(model, str(tmp_path / f'{engine}.onnx'), x, built.output_names)
        checks = verify_onnx(path, built.module, sizes=[32, 64], engines=[engine], batch=3)
        assert max(c['max_abs_diff'] for c in checks) <= 1e-4
        outputs = create_session(engine, path)(np.zeros((1, 3, 64, 64), np.float32))
        assert [o.shape[1] for o in outputs] == built.module.backbone.out_channels


@pytest.mark.slow
def test_export_tool_writes_metadata_and_reports_parity(tmp_path):
    out = tmp_path / 'demo.onnx'
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'export_onnx.py'), DEMO_CONFIG, str(out),
                           '--verify-sizes', '64', '96'], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count('max abs difference to PyTorch') == 4  # 2 engines x 2 sizes
    meta = read_metadata(str(out))
    assert meta['class_names'].split('\n')[:2] == ['checker_blob', 'cross'] and len(meta['class_names'].split()) == 8
    assert meta['mean'] == '123.675,116.28,103.53' and meta['std'] == '58.395,57.12,57.375'
    assert meta['colour_order'] == 'RGB' and meta['input_layout'] == 'NCHW' and meta['opset'] == '17'
    import onnx
    proto = onnx.load(str(out))
    assert proto.opset_import[0].version == 17
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ['batch', '', 'height', 'width']


def test_embedded_classifier_top1_is_the_same_in_every_engine(tmp_path):
    from scalenet_mm.datasets.synthetic import generate_samples
    torch.manual_seed(0)
    built = build_export_model(DEMO_CONFIG)
    _randomise_bn(built.module)
    images = np.stack([s.image for s in generate_samples(16, 64, split='test')]).astype(np.float32)
    mean, std = (np.array([float(v) for v in built.metadata[k].split(',')], np.float32) for k in ('mean', 'std'))
    x = torch.from_numpy(((images - mean) / std).transpose(0, 3, 1, 2).copy())  # RGB already (to_rgb)
    with torch.no_grad():
        expected = built.module(x).argmax(1).numpy()
    model, _ = prepare_for_export(built.module, x[:1])
    path = export_onnx(model, str(tmp_path / 'demo.onnx'), x[:1], ['logits'], metadata=built.metadata)
    for engine in ENGINES:
        got = create_session(engine, path)(x.numpy())[0].argmax(1)
        np.testing.assert_array_equal(got, expected)
    assert len(set(expected.tolist())) > 1  # a constant prediction would make the comparison vacuous


@pytest.mark.slow
def test_detector_raw_outputs_match_pytorch(tmp_path):
    from scalenet_mm.deploy.detector_export import build_detector_raw
    torch.manual_seed(0)
    built = build_detector_raw(DETECTOR_CONFIG)
    _randomise_bn(built.module)
    x = torch.randn(1, 3, 96, 96)
    model, _ = prepare_for_export(built.module, x)
    path = export_onnx(model, str(tmp_path / 'det.onnx'), x, built.output_names)
    checks = verify_onnx(path, built.module, sizes=[96, 128], engines=ENGINES, batch=1)
    assert max(c['max_abs_diff'] for c in checks) <= 1e-4
    assert len(built.output_names) == 15 and built.output_names[5] == 'rpn_cls0'


def test_what_cannot_be_exported_says_why(tmp_path):
    built = _preset('ci7')
    x = torch.randn(1, 3, 32, 32)
    deployed = build_export_model('ci7', num_classes=10).module
    deploy_for_cpu(deployed, autotune=False)
    if onednn_available():
        with pytest.raises(ExportError, match='before deploy_for_cpu'):
            export_onnx(deployed, str(tmp_path / 'a.onnx'), x, ['logits'])
    phase = build_export_model('ci7', deconv_impl='phase').module
    with pytest.raises(ExportError, match='prepare_for_export'):
        export_onnx(phase, str(tmp_path / 'b.onnx'), x, ['logits'])
    with pytest.raises(ValueError, match='neither a config file'):
        build_export_model('no_such_preset')
    with pytest.raises(ValueError, match='not a multiple of'):
        export_model('ci7', str(tmp_path / 'c.onnx'), size=33)
    assert built.metadata['input_size_multiple'] == str(built.module.backbone.min_input_size)


def test_tools_are_thin_and_import_only_the_package():
    for tool in ('benchmark.py', 'benchmark_deconv.py', 'export_onnx.py'):
        source = open(osp.join(REPO, 'tools', tool)).read()
        assert '.'.join(('sys', 'path')) not in source and source.count('\n') <= 160, tool
        imports = [line for line in source.splitlines() if line.startswith(('import ', 'from '))]
        assert all(line.split()[1].split('.')[0] in ('argparse', 'json', 'os', 'sys', 'scalenet_mm')
                   for line in imports), imports
