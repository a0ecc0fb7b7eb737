#!/usr/bin/env python
"""Print the preset table (ours vs the reference implementation vs the paper) as Markdown.

    python tools/scalenet_table.py [--reference REFERENCE_JSON] [--out docs/presets.md]

For every preset it builds our backbone and measures: parameters (backbone + the classifier's Linear), paper
depth (module count of the reference model), and the stage output shapes at the preset's native input size,
next to the reference numbers of the spec and the paper's figures.
"""
import argparse
import json
import sys

import torch

from scalenet_mm.apis.flops import REFERENCE_JSON
from scalenet_mm.models.backbones import ARCH_ALIASES, PAPER_NAMES, ScaleNet, scalenet_name


def measure(name: str, entry: dict) -> dict:
    probe = ScaleNet(name)
    model = ScaleNet(name, out_indices=tuple(range(probe.num_levels))).eval()
    nclass = entry['arch']['nclass']
    params = sum(p.numel() for p in model.parameters()) + (model.arch.out_channels + 1) * nclass
    size = entry['input_size']
    with torch.no_grad():
        outs = model(torch.randn(1, 3, size, size))
    shapes = [list(o.shape[1:]) for o in outs]
    ref = entry['stage_shapes']
    ref_shapes = [ref['stem_x1']] + [ref[f'stage{i}'] for i in range(1, model.arch.stages + 1)] + [ref['head_input']]
    levels = ', '.join(f'{f.channels}@{f.stride}' for f in model.out_feature_info)
    return dict(params=params, depth=model.depth, shapes_ok=shapes == ref_shapes, head=shapes[-1],
                name=scalenet_name(name), levels=levels, min_size=model.min_input_size)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--reference', default=REFERENCE_JSON)
    parser.add_argument('--out', help='also write the table to this file')
    args = parser.parse_args(argv)
    entries = json.load(open(args.reference))
    lines = ['| preset | aliases | paper row | model | params (ours) | reference params − dead | reference params '
             '(dead incl.) | paper params | depth (ours = reference) | paper depth | head input | stage shapes |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    level_lines = ['| preset | stem type | levels 0..S+1 (channels@stride) | min input side |', '|---|---|---|---|']
    all_ok = True
    for entry in entries:
        name = entry['name']
        m = measure(name, entry)
        expected = entry['params'] - entry['dead_params']
        ok = m['params'] == expected and m['depth'] == entry['depth_module_count'] and m['shapes_ok']
        all_ok &= ok
        aliases = ', '.join(f'`{a}`' for a in ARCH_ALIASES.get(name, ()))
        paper_params = f"{entry['paper_params_M']}M" if entry['paper_params_M'] is not None else ''
        head = 'x'.join(map(str, m['head']))
        lines.append(f"| `{name}` | {aliases} | {PAPER_NAMES.get(name) or ''} | {m['name']} | {m['params']:,} | "
                     f"{expected:,} | {entry['params']:,} | {paper_params} | {m['depth']} | "
                     f"{entry['paper_depth'] or ''} | {head} | {'match' if m['shapes_ok'] else 'MISMATCH'} |")
        level_lines.append(f"| `{name}` | {ScaleNet(name).stem_type} | {m['levels']} | {m['min_size']} |")
    table = '\n'.join(lines) + '\n\nFeature levels (`out_indices`):\n\n' + '\n'.join(level_lines)
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table + '\n')
    if not all_ok:
        print('\nMISMATCH against the reference numbers', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
