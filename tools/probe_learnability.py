#!/usr/bin/env python
"""Screen a benchmark-v2 generator design against the no-learning and learnability gates (in memory, minutes).

    python tools/probe_learnability.py --name current --out work_dirs/probe/results.json
    python tools/probe_learnability.py --name less-camouflage --set CAMOUFLAGE=0.2 --set CLUSTER=0.75
    python tools/probe_learnability.py --quick      # tiny run (what CI runs)
    python tools/probe_learnability.py --table --out work_dirs/probe/results.json

See scalenet_mm.experiments.learnability_probe: a pre-screen only; published numbers come from the Runner.
"""
import argparse
import json

from scalenet_mm.experiments import learnability_probe as lp

QUICK = dict(num_train=20, num_test=10, image_size=32, epochs=1, arch='demo-d2s2', num_selection=10)


def parse_set(text: str):
    name, sep, value = text.partition('=')
    if not sep:
        raise argparse.ArgumentTypeError(f'--set needs NAME=VALUE (VALUE in JSON, e.g. CLUSTER=0.75 or '
                                         f'SINGLE_DISTRACTORS=[1,3]), got {text!r}')
    try:
        return name, json.loads(value)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f'--set {name}: {value!r} is not JSON ({e})') from e


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--name', default='default', help='row name in the results JSON')
    parser.add_argument('--out', default='work_dirs/learnability_probe/results.json')
    parser.add_argument('--variant', default='v2', choices=['v2', 'v2-digits'])
    parser.add_argument('--set', type=parse_set, action='append', default=[], metavar='NAME=VALUE',
                        help=f'override a generator constant, one of {sorted(lp.TUNABLE)}')
    parser.add_argument('--num-train', type=int, default=3000)
    parser.add_argument('--num-test', type=int, default=300)
    parser.add_argument('--image-size', type=int, default=64)
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--arch', default=lp.DEFAULT_ARCH,
                        help='a ScaleNet preset or named arch, or a reference learner: '
                             f'{sorted(lp.REFERENCE_BACKBONES)}')
    parser.add_argument('--optimizer', default='adamw', choices=['adamw', 'sgd'])
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--pool', default='max', choices=['max', 'avg'])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-selection', type=int, default=0,
                        help='box-labelled selection images that choose the CAM source the gate scores '
                             '(0: the classic CAM only)')
    parser.add_argument('--overlays', metavar='PNG', help='write a grid of test CAMs with GT / predicted boxes')
    parser.add_argument('--save-model', metavar='PTH', help='save the trained weights (state dict) there')
    parser.add_argument('--no-controls', action='store_true', help='skip the control maps')
    parser.add_argument('--quick', action='store_true', help=f'tiny run: {QUICK}')
    parser.add_argument('--table', action='store_true', help='print the markdown table of --out and exit')
    args = parser.parse_args(argv)
    if args.table:
        print(lp.results_table(args.out))
        return None
    params = dict(variant=args.variant, overrides=dict(args.set), num_train=args.num_train, num_test=args.num_test,
                  image_size=args.image_size, epochs=args.epochs, arch=args.arch, optimizer=args.optimizer,
                  lr=args.lr, pool=args.pool, seed=args.seed, controls=not args.no_controls)
    if args.num_selection:  # only then part of the run's key, so that rows stored without it still resume
        params['num_selection'] = args.num_selection
    if args.quick:
        params.update(QUICK)
    row = lp.run_probe(args.out, args.name, overlays=args.overlays, save_model=args.save_model, **params)
    print(json.dumps({k: row[k] for k in ('top1', 'cam_MaxBoxAccV2', 'controls') if k in row}))
    return row


if __name__ == '__main__':
    main()
