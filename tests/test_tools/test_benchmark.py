"""tools/benchmark.py runs end to end and reports exact MACs (no timing assertions: timings are not tests)."""
import json
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_benchmark_writes_table_json_and_chart(tmp_path, reference_archs):
    out_json, chart = tmp_path / 'bench.json', tmp_path / 'bench.png'
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'benchmark.py'), '--cifar', '--models', 'ci7', 'ci7:deploy',
                           '--batch-sizes', '2', '--iters', '1', '--warmup', '1', '--threads', '1', '--json',
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


def test_benchmark_rejects_unknown_model_suffix():
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'benchmark.py'), '--cifar', '--models', 'ci7:fast',
                           '--batch-sizes', '1', '--iters', '1'], capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and "unknown model suffix 'fast'" in proc.stderr
