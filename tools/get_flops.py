#!/usr/bin/env python
"""Parameters and exact multiply-accumulates (MACs) of the models of mm configs, next to the paper's figures.

Example::

    python tools/get_flops.py configs/scalenet/imagenet_*.py
    python tools/get_flops.py configs/scalenet/cifar10_d7_32l.py --shape 32
    python tools/get_flops.py configs/scalenet/*.py --json work_dirs/flops.json

Counting convention (spec 12/13.3): ``MACs`` = Conv2d ``Cout*Cin/groups*kh*kw*Hout*Wout`` + ConvTranspose2d
``Cin*Cout/groups*kh*kw*Hin*Win`` (a deconvolution's true cost, at INPUT resolution) + Linear ``in*out``;
batch norm, ReLU, pooling and additions are not counted. Counted with forward hooks on a shape-only
('meta' device) forward pass, so the numbers are exact and cheap even for the 2000-layer net.

The paper (and the authors' ``calculate_FLOPs_scale``) instead counts each stride-2 deconvolution at its OUTPUT
resolution, i.e. 4x its true MACs, and adds BN/ReLU/pool element counts: ScaleNet54-D4D5S5 is "4.6 GFLOPs" in
Table 2 but needs 2.05 GMACs. The column ``deconv@out G`` recomputes our count with the deconvolutions at output
resolution, which lands close to the paper's figures.

Reference check: for configs that use a preset unchanged (and its class count and input size), the numbers must
equal the spec's reference (scalenet_mm/models/backbones/reference_archs.json) minus the reference implementation's
dead modules, which scalenet_mm does not build: ``params = ref params - dead_params``, ``MACs = ref macs - dead_macs``.
Exit status 1 if any checked config disagrees.
"""
import argparse
import json
import os.path as osp
import sys

from mmengine.config import DictAction

from scalenet_mm.apis import load_reference, measure_complexity

CONVENTION_NOTE = """\
GMACs: exact multiply-accumulates at batch 1 (Conv2d at output size, ConvTranspose2d at INPUT size, Linear).
deconv@out G: the same count with every deconvolution at its OUTPUT resolution (4x its real cost for stride 2),
  the paper's convention; the paper's 'FLOPs' (paper G) and the authors' counter (authors G, which also adds
  BN/ReLU/pool element counts) use it, so they are ~2.3x the true MACs of a ScaleNet.
expected = spec reference minus the reference code's dead modules (not built here): params - dead_params,
  macs - dead_macs."""


def _fmt(v, scale=1.0, digits=3):
    return '-' if v is None else f'{v / scale:.{digits}f}'


def format_table(results) -> str:
    head = ('config', 'arch', 'input', 'params M', 'GMACs', 'deconv@out G', 'ref', 'expected params',
            'expected MACs', 'paper M', 'paper G', 'authors G', 'match')
    rows = [head]
    for r in results:
        match = {True: 'OK', False: 'MISMATCH', None: 'no reference'}[r['match']]
        rows.append((osp.basename(r['config']), r['arch'], 'x'.join(map(str, r['input'])), _fmt(r['params'], 1e6),
                     _fmt(r['macs'], 1e9), _fmt(r['macs_deconv_at_output'], 1e9), r.get('reference', '-'),
                     str(r.get('expected_params', '-')), str(r.get('expected_macs', '-')),
                     _fmt(r.get('paper_params_M'), 1, 1), _fmt(r.get('paper_flops_G'), 1, 1),
                     _fmt(r.get('authors_flops_G'), 1, 3), match))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    lines = ['  '.join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Params and exact MACs of configs vs the paper/spec numbers')
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--shape', type=int, nargs='+', default=None,
                        help='input size: H [W] (default: the reference input size of the preset, else the '
                        'test crop size of the config, 32 for CIFAR)')
    parser.add_argument('--json', help='also write the results to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    shape = None
    if args.shape:
        if len(args.shape) > 2:
            raise SystemExit('--shape takes H or H W')
        shape = (args.shape[0], args.shape[-1])
    refs = load_reference()
    results = [measure_complexity(c, shape, args.cfg_options, refs) for c in args.configs]
    print(format_table(results))
    print()
    print(CONVENTION_NOTE)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
    bad = [r['config'] for r in results if r['match'] is False]
    if bad:
        print('MISMATCH with the spec reference: ' + ', '.join(bad))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
