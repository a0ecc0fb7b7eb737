#!/usr/bin/env python
"""Weakly supervised detection on the embedded multi-object set: CAM boxes vs pseudo-box vs true-box detectors.

    python tools/pseudo_box_experiment.py                 # full run (about 20 min on 1-2 CPU cores)
    python tools/pseudo_box_experiment.py --quick         # smoke run (tiny data, 1 epoch each)
    python tools/pseudo_box_experiment.py --report-only   # rewrite results.md from results.json

See :mod:`scalenet_mm.experiments.pseudo_box_embedded` for the steps and outputs.
"""
import argparse
import json
import os.path as osp

from scalenet_mm.experiments.pseudo_box_embedded import BACKBONES, QUICK, markdown_table, run_experiment


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--work-dir', default='work_dirs/pseudo_box_experiment')
    p.add_argument('--data-root', default='data/demo_det', help='generated here if missing')
    p.add_argument('--num-train', type=int, default=600)
    p.add_argument('--num-test', type=int, default=150)
    p.add_argument('--image-size', type=int, default=96)
    p.add_argument('--backbones', nargs='+', default=list(BACKBONES), choices=list(BACKBONES))
    p.add_argument('--cls-epochs', type=int, default=20)
    p.add_argument('--det-epochs', type=int, default=4)
    p.add_argument('--thr', type=float, default=0.6, help='CAM threshold tau for boxes')
    p.add_argument('--min-area', type=float, default=16, help='multi-contour: drop boxes below this area (px)')
    p.add_argument('--score-thr', type=float, default=0.1, help='CAM detections: classes scored at least this')
    p.add_argument('--threads', type=int, default=1, help='torch threads per step')
    p.add_argument('--quick', action='store_true', help=f'smoke run: {QUICK}')
    p.add_argument('--report-only', action='store_true',
                   help='only rewrite <work-dir>/results.md from an existing <work-dir>/results.json')
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    if a.quick:
        for key, value in QUICK.items():
            setattr(a, key, value)
        if a.data_root == 'data/demo_det':
            a.data_root = 'data/demo_det_quick'
        if a.work_dir == 'work_dirs/pseudo_box_experiment':
            a.work_dir = 'work_dirs/pseudo_box_experiment_quick'
    if a.report_only:
        with open(osp.join(a.work_dir, 'results.json')) as f:
            results = json.load(f)
    else:
        results = run_experiment(vars(a))
    table = markdown_table(results)
    with open(osp.join(a.work_dir, 'results.md'), 'w') as f:
        f.write(table)
    print(table)


if __name__ == '__main__':
    main()
