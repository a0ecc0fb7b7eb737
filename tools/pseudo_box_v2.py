#!/usr/bin/env python
"""Detection without boxes on the multi-object benchmark v2 (docs/detection_pseudo_boxes.md, issue #13): CAM
peak pseudo-boxes with per-class thresholds from the selection split, self-training rounds, the no-learning
saliency control and the true-box upper bound, for ScaleNet and ResNet-18 at the same parameter count.

    python tools/pseudo_box_v2.py                    # the full comparison (resumes from <out>/results.json)
    python tools/pseudo_box_v2.py --quick            # smoke run, what CI runs
    python tools/pseudo_box_v2.py --table            # print the tables of a stored run
    python tools/pseudo_box_v2.py --classifier-diagnostic CONFIG CHECKPOINT --diagnostic-json OUT.json
                                                     # round-0 pseudo-boxes of one classifier, no detector

See scalenet_mm.experiments.pseudo_box_v2 for the steps.
"""
import argparse
import json

import torch

from scalenet_mm.apis import add_experiment_args, experiment_plan, stored_results
from scalenet_mm.engine.atomic_io import atomic_write_text
from scalenet_mm.experiments import pseudo_box_v2 as exp


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', help='results folder (default work_dirs/pseudo_box_v2[-quick])')
    parser.add_argument('--data-root', default='data/pseudo_box_v2')
    parser.add_argument('--backbones', nargs='+', default=list(exp.BACKBONES), choices=list(exp.BACKBONES))
    add_experiment_args(parser, exp.FULL, exp.QUICK)
    parser.add_argument('--jobs', type=int, default=1,
                        help='independent detector trainings at once, sharing --threads (2 on a 2-core machine)')
    parser.add_argument('--summary-json', help='also write the summary (docs/detection_pseudo_boxes.json form) here')
    parser.add_argument('--classifier-diagnostic', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                        help='only measure the round-0 pseudo-boxes of this classifier (thresholds from the '
                             'selection split; precision / recall / CorLoc and recall at chosen vs best tau)')
    parser.add_argument('--diagnostic-json', help='write the --classifier-diagnostic result here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    out = args.out or 'work_dirs/pseudo_box_v2' + ('-quick' if args.quick else '')
    data_root = args.data_root + ('-quick' if args.quick else '')
    if args.classifier_diagnostic:
        plan = experiment_plan(args, exp.FULL, exp.QUICK)
        result = exp.classifier_diagnostic(*args.classifier_diagnostic, data_root=data_root,
                                           **{k: plan[k] for k in ('num_train', 'num_test', 'num_selection')})
        print(json.dumps(result, indent=1))
        if args.diagnostic_json:
            atomic_write_text(args.diagnostic_json, json.dumps(result, indent=1))
        return result
    if args.table:
        results = stored_results(out, 'tools/pseudo_box_v2.py')
    else:
        results = exp.run_experiment(out, data_root,
                                     backbones=args.backbones, threads=args.threads, jobs=args.jobs,
                                     **experiment_plan(args, exp.FULL, exp.QUICK))
    print(exp.markdown_tables(results))
    if args.summary_json:
        atomic_write_text(args.summary_json, json.dumps(exp.summary_json(results), indent=1))
        print(f'summary: {args.summary_json}')
    return results


if __name__ == '__main__':
    main()
