#!/usr/bin/env python
"""The embedded-set WSOL experiment (docs/wsol_experiment.md): ScaleNet vs ResNet-18 and its stride-8 twin.

    python tools/wsol_experiment.py                      # ~25 min on 1 CPU thread (shared machine)
    python tools/wsol_experiment.py --quick --out work_dirs/wsol_smoke   # smoke: 1 epoch, 64 train / 32 test

See :mod:`scalenet_mm.experiments.wsol_embedded` for the steps and outputs.
"""
import argparse

import torch

from scalenet_mm.apis import parse_sizes
from scalenet_mm.experiments.wsol_embedded import MODELS, QUICK, SIZES, run_experiment


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default='data/wsol_exp')
    parser.add_argument('--out', default='work_dirs/wsol_exp')
    parser.add_argument('--epochs', type=int, default=24)
    parser.add_argument('--num-train', type=int, default=1200)
    parser.add_argument('--num-test', type=int, default=300)
    parser.add_argument('--quick', action='store_true', help=f'smoke run: {QUICK}')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--sizes', default=','.join(map(str, SIZES)), help='multi-scale input sizes')
    parser.add_argument('--models', nargs='+', default=list(MODELS), choices=list(MODELS))
    parser.add_argument('--protocol', default='reference', choices=('reference', 'legacy'), help='WSOL box geometry')
    parser.add_argument('--skip-train', action='store_true', help='reuse <out>/<model>/epoch_<E>.pth')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.epochs, args.num_train, args.num_test = QUICK['epochs'], QUICK['num_train'], QUICK['num_test']
    return run_experiment(args.data_root, args.out, args.epochs, args.num_train, args.num_test,
                          parse_sizes(args.sizes), args.models, args.skip_train, args.protocol)


if __name__ == '__main__':
    main()
