"""tools/benchmark.py runs end to end and reports exact MACs (no timing assertions: timings are not tests)."""
import json
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'benchmark.py')
QUICK = ['--batch-sizes', '2', '--iters', '1', '--warmup', '1', '--repeats', '2', '--threads', '1']


def test_benchmark_writes_table_json_and_chart(tmp_path, reference_archs):
    out_json, chart = tmp_path / 'bench.json', tmp_path / 'bench.png'
    proc = subprocess.run([sys.executable, TOOL, '--cifar', '--models', 'ci7', 'ci7:deploy', *QUICK, '--json',
                           str(out_json), '--chart', str(chart)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert '| ci7 | 2 |' in proc.stdout and 'x resnet_cifar18' in proc.stdout
    data = json.loads(out_json.read_text())
    rows = {r['model']: r for r in data['results']}
    assert set(rows) == {'ci7', 'ci7:deploy', 'resnet_cifar18'} and data['gemm_peak_gflops'] > 0
    assert not any('error' in r for r in rows.values()), rows
    assert rows['ci7:deploy']['macs'] == rows['ci7']['macs']  # the conversion is exact: same network, same MACs
    assert 'ci7:deploy:' in proc.stdout and 'BNs folded or fused' in proc.stdout
    ref = reference_archs['ci7']
    linear = 88 * 10  # the benchmark's classifier is GAP + Linear(88 -> 10), like the reference's
    assert rows['ci7']['macs'] == ref['macs'] - ref['dead_macs'] - ref['macs_breakdown']['linear'] + linear
    assert rows['ci7']['latency_ms'] > 0 and chart.stat().st_size > 0
    # interleaved protocol: one median per round, the reported latency inside their range
    for r in rows.values():
        assert len(r['round_medians_ms']) == 2 and r['latency_min_ms'] <= r['latency_ms'] <= r['latency_max_ms']
    assert {'load_1min', 'cpus'} <= set(data['load_before']) and 'load_1min' in data['load_after']


@pytest.mark.slow
@pytest.mark.parametrize('engine', ['onnxruntime', 'openvino'])
def test_benchmark_onnx_engines_export_every_model_through_the_same_path(tmp_path, engine):
    pytest.importorskip(engine)
    out_json = tmp_path / 'bench.json'
    proc = subprocess.run([sys.executable, TOOL, '--cifar', '--engine', engine, '--models', 'ci7', *QUICK,
                           '--profile', '--json', str(out_json)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = {r['model']: r for r in json.loads(out_json.read_text())['results']}
    assert set(rows) == {'ci7', 'resnet_cifar18'} and not any('error' in r for r in rows.values()), rows
    for r in rows.values():
        assert r['engine'] == engine and r['max_abs_diff'] <= 1e-4 and r['op_profile_ms']
    assert 'Conv' in ''.join(rows['ci7']['op_profile_ms']) and rows['ci7']['forms']


def test_benchmark_rejects_unknown_model_suffix_and_deploy_on_onnx_engines():
    proc = subprocess.run([sys.executable, TOOL, '--cifar', '--models', 'ci7:fast', '--batch-sizes', '1', '--iters',
                           '1'], capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and "unknown model suffix 'fast'" in proc.stderr
    proc = subprocess.run([sys.executable, TOOL, '--cifar', '--engine', 'onnxruntime', '--mode', 'train', '--models',
                           'ci7', '--batch-sizes', '1'], capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and 'CPU inference only' in proc.stderr
