#!/usr/bin/env python
"""`make demo`: benchmark v2 (cached), a small ScaleNet trained by mmengine's Runner, its CAMs against the
no-learning controls: top-1, MaxBoxAccV2 next to the best control, both gates, the overlay grid.

    python tools/demo.py                       # about 10 minutes on 2 CPU cores
    python tools/demo.py --epochs 2 --num-train 500

The steps are scalenet_mm.experiments.wsol_benchmark_v2.run_demo (the experiment's protocol for one model and
one seed: the CAM source is chosen on the box-labelled selection split, the test split is evaluated once).
"""
import argparse

import torch

from scalenet_mm.experiments.wsol_benchmark_v2 import DEMO, run_demo


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default='data/demo_v2')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    for key, value in DEMO.items():
        parser.add_argument('--' + key.replace('_', '-'), type=int, default=value, help=f'default {value}')
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads (default 2)')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if min(vars(args)[k] for k in DEMO) < 1:
        raise SystemExit(f"{', '.join('--' + k.replace('_', '-') for k in DEMO)} must be at least 1")
    torch.set_num_threads(args.threads)
    return run_demo(args.work_dir, args.data_root, args.num_train, args.num_test, args.num_selection, args.epochs,
                    args.batch_size)


if __name__ == '__main__':
    main()
