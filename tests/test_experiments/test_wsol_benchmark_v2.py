"""The benchmark-v2 experiment driver: thresholds carried from the selection split, the choice of source, and
a --quick run through the CLI that writes its rows and, rerun, trains nothing again."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from scalenet_mm.experiments import wsol_benchmark_v2 as exp

TOOL = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools', 'wsol_benchmark_v2.py')


def test_box_acc_at_reads_the_curve_at_the_given_thresholds():
    metrics = {'curve/tau': [0.0, 0.25, 0.5, 0.75], 'curve/BoxAcc@IoU0.3': [10, 20, 30, 40],
               'curve/BoxAcc@IoU0.5': [1, 2, 3, 4], 'curve/BoxAcc@IoU0.7': [0, 0, 9, 0]}
    res = exp.box_acc_at(metrics, {'0.3': 0.75, '0.5': 0.24, '0.7': 0.5})
    assert res['BoxAcc@IoU0.3'] == 40 and res['BoxAcc@IoU0.5'] == 2 and res['BoxAcc@IoU0.7'] == 9
    assert res['BoxAccV2'] == pytest.approx(17.0)


def test_select_takes_the_best_selection_score_and_its_thresholds():
    taus = {f'best_tau@IoU{d}': 0.1 for d in exp.IOUS}
    scores = {'CAM': {'single': dict(MaxBoxAccV2=30.0, **taus), 'ms_mean': dict(MaxBoxAccV2=41.0, **taus)},
              'LayerCAM last': {'single': dict(MaxBoxAccV2=41.0, **taus), 'ms_max': dict(MaxBoxAccV2=12.0, **taus)}}
    chosen = exp._select(scores)
    assert (chosen['source'], chosen['fusion'], chosen['MaxBoxAccV2']) == ('CAM', 'ms_mean', 41.0)
    assert chosen['taus'] == {d: 0.1 for d in exp.IOUS}


def test_merge_rows_replaces_only_the_new_variants_rows():
    old = [dict(variant='v2', model='ScaleNet', MaxBoxAccV2_mean=1.0), dict(variant='v2-digits', model='ScaleNet')]
    new = [dict(variant='v2', model='ScaleNet', MaxBoxAccV2_mean=2.0)]
    merged = exp.merge_rows(old, new)
    assert merged == [old[1], new[0]]
    assert exp.merge_rows(merged, []) == merged


def test_quick_run_writes_rows_and_resumes(tmp_path):
    out, rows_json = tmp_path / 'out', tmp_path / 'rows.json'
    cmd = [sys.executable, TOOL, '--quick', '--out', str(out), '--data-root', str(tmp_path / 'data'),
           '--models', 'ScaleNet', '--threads', '1', '--rows-json', str(rows_json)]
    first = subprocess.run(cmd, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-3000:]
    results = json.loads((out / 'results.json').read_text())
    assert set(results['chosen']) == {'ScaleNet'}
    assert results['dataset']['splits']['selection']['num_images'] != 0
    rows = json.loads(rows_json.read_text())
    names = {r['model'] for r in rows}
    assert {'ScaleNet', 'ScaleNet (untrained)', 'centre_gaussian'} <= names, names
    trained = next(r for r in rows if r['model'] == 'ScaleNet')
    assert trained['seeds'] == [0, 1] and trained['MaxBoxAccV2_ci95'] is not None and not trained['control']
    assert all(r['control'] for r in rows if r['model'] == 'centre_gaussian')
    assert 'no-learning gate' in first.stdout and 'Input-size sweep' in first.stdout
    assert (out / 'grids' / 'scalenet_seed0.png').is_file()
    measures = results['multi_object']['ScaleNet']['0']
    assert measures['pairs'] > 0 and 0 <= measures['pointing'] <= 100
    assert 'Multi-object images' in first.stdout
    for ckpt in (out / 'models').rglob('*.pth'):  # a stored run continued in a new checkout has no checkpoints
        ckpt.unlink()
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-3000:]
    assert '[wsol_benchmark_v2] training ' not in again.stdout and ' done in ' not in again.stdout
    assert json.loads((out / 'results.json').read_text()) == results


def test_demo_reports_top1_cam_and_controls(tmp_path):
    lines = []
    summary = exp.run_demo(str(tmp_path / 'demo'), str(tmp_path / 'data'), num_train=30, num_test=20,
                           num_selection=10, epochs=1, log=lines.append)
    assert summary['chosen']['source'] in exp.CAM_SOURCES
    assert set(summary['controls']) >= {'centre_gaussian', 'saturation'}
    assert 0 <= summary['top1'] <= 100 and summary['test']['num_samples'] == 20
    report = next(line for line in lines if line.startswith('[demo] test top-1'))
    assert 'best no-learning control' in report
    assert (tmp_path / 'demo' / 'cam_grid.png').is_file() and (tmp_path / 'demo' / 'metrics.json').is_file()
