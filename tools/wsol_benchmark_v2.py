#!/usr/bin/env python
"""The benchmark-v2 WSOL experiment of docs/wsol_experiment.md (issue #12): ScaleNet vs ResNet-18 and ResNet-18-s8
at matched parameters, CAM source chosen on the selection split, 3 seeds, controls, gates, input-size sweep.

    python tools/wsol_benchmark_v2.py                          # the full run (resumes from <out>/results.json)
    python tools/wsol_benchmark_v2.py --variant v2-digits --models ScaleNet ResNet-18-s8
    python tools/wsol_benchmark_v2.py --quick                  # smoke run, what CI runs
    python tools/wsol_benchmark_v2.py --table                  # print the tables of a stored run

See scalenet_mm.experiments.wsol_benchmark_v2 for the protocol.
"""
import argparse
import json
import os.path as osp

import torch

from scalenet_mm.apis import add_experiment_args, experiment_plan, stored_results
from scalenet_mm.engine.atomic_io import atomic_write_text
from scalenet_mm.experiments import wsol_benchmark_v2 as exp


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--variant', default='v2', choices=['v2', 'v2-digits'])
    parser.add_argument('--out', help='results folder (default work_dirs/wsol_benchmark_v2/<variant>[-quick])')
    parser.add_argument('--data-root', default='data/wsol_benchmark_v2')
    parser.add_argument('--models', nargs='+', default=list(exp.MODELS), choices=list(exp.MODELS))
    add_experiment_args(parser, exp.FULL, exp.QUICK)
    parser.add_argument('--force', action='store_true', help='move a stored run with other settings aside')
    parser.add_argument('--rows-json', help='also write the rows (docs/wsol_experiment.json form) here; the rows '
                        'of the other variants in the file are kept')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    out = args.out or osp.join('work_dirs/wsol_benchmark_v2', args.variant + ('-quick' if args.quick else ''))
    if args.table:
        results = stored_results(out, 'tools/wsol_benchmark_v2.py')
    else:
        results = exp.run_experiment(out, args.data_root + ('-quick' if args.quick else ''), models=args.models,
                                     variant=args.variant, force=args.force,
                                     **experiment_plan(args, exp.FULL, exp.QUICK))
    print(exp.markdown_tables(results))
    if args.rows_json:  # the rows of the other variants in the file are kept
        existing = []
        if osp.exists(args.rows_json):
            with open(args.rows_json, encoding='utf-8') as f:
                existing = json.load(f)
        atomic_write_text(args.rows_json, json.dumps(exp.merge_rows(existing, exp.rows(results)), indent=1))
        print(f'rows: {args.rows_json}')
    return results


if __name__ == '__main__':
    main()
