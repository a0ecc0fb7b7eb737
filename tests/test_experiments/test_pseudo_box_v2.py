"""The pseudo-box detection experiment on benchmark v2: its --quick run goes through every step (classifier,
selection-split thresholds, round 0, a self-training round, the saliency control, the true-box bound), writes
its JSON in the docs' form, and a rerun recomputes nothing."""
import json
import os.path as osp
import subprocess
import sys

from scalenet_mm.experiments import pseudo_box_v2 as exp
from scalenet_mm.experiments.results_store import repo_path

TOOL = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools', 'pseudo_box_v2.py')


def test_quick_run_writes_the_summary_and_resumes(tmp_path):
    out, summary = tmp_path / 'out', tmp_path / 'summary.json'
    cmd = [sys.executable, TOOL, '--quick', '--out', str(out), '--data-root', str(tmp_path / 'data'),
           '--backbones', 'ScaleNet', '--threads', '1', '--summary-json', str(summary)]
    first = subprocess.run(cmd, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    results = json.loads((out / 'results.json').read_text())
    run = results['ScaleNet']['0']
    assert set(run) >= {'classifier', 'thresholds', 'rounds', 'control', 'supervised'}
    assert sorted(run['rounds']) == ['0', '1'] and 0 <= run['rounds']['0']['pseudo']['recall'] <= 100
    assert 'recall_at_best' in run['rounds']['0']['diagnostic']
    assert results['control_choice']['control'] in ('saturation', 'gradient_energy', 'colour_contrast')
    doc = json.loads(summary.read_text())['backbones']['ScaleNet']
    assert len(doc['weak_ap50']) == 2 and {'mean', 'ci95'} <= set(doc['supervised_ap50'])
    assert doc['control_ap50'] is not None and 'weak / supervised AP50' in first.stdout
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-3000:]
    assert '[isolated]' not in again.stdout and ' done in ' not in again.stdout
    assert json.loads((out / 'results.json').read_text()) == results
    # the detector-free diagnostic of the same classifier rebuilds round 0's thresholds and pseudo-boxes
    diag_json = tmp_path / 'diagnostic.json'
    config = repo_path(exp.BACKBONES['ScaleNet'][0])
    diag = subprocess.run([sys.executable, TOOL, '--quick', '--data-root', str(tmp_path / 'data'), '--threads', '1',
                           '--classifier-diagnostic', config, run['classifier']['checkpoint'],
                           '--diagnostic-json', str(diag_json)], capture_output=True, text=True)
    assert diag.returncode == 0, diag.stdout[-3000:] + diag.stderr[-3000:]
    measured = json.loads(diag_json.read_text())
    assert measured['thresholds'] == run['thresholds']
    assert measured['pseudo'] == run['rounds']['0']['pseudo']
    assert measured['diagnostic'] == run['rounds']['0']['diagnostic']


def test_summary_ratio_is_per_seed_final_round_over_supervised():
    def seed(weak, sup):
        det = (lambda ap50: dict(detector=dict(AP=0.0, AP50=ap50)))
        classifier = dict(test_mAP=50.0, selection_mAP=[40.0, 45.5], selection_mAP_epoch=[1, 2])
        return dict(classifier=classifier, rounds={'0': det(weak / 2), '1': det(weak)},
                    control=det(1.0), supervised=det(sup))
    results = dict(settings=dict(backbones=['ScaleNet'], seeds=[0, 1], rounds=1, num_train=4, num_selection=2,
                                 num_test=2, cls_epochs=1, det_epochs=1),
                   ScaleNet={'0': seed(30.0, 60.0), '1': seed(20.0, 40.0)})
    doc = exp.summary_json(results)['backbones']['ScaleNet']
    assert doc['weak_to_supervised_ap50']['mean'] == 0.5 and doc['weak_to_supervised_ap50']['ci95'] == 0.0
    assert doc['weak_ap50'][1]['mean'] == 25.0 and doc['supervised_ap50']['mean'] == 50.0
    assert [r['mean'] for r in doc['weak_to_supervised_ap50_by_round']] == [0.25, 0.5]
    table = exp.markdown_tables(results)
    assert '0.25 ± 0.00 / 0.50 ± 0.00' in table and '| ScaleNet | 1 | 1: 40.0, 2: 45.5 | 50.0 |' in table
