#!/usr/bin/env python
"""Convert an authors' ScaleNet checkpoint into an mmpretrain checkpoint.

    python tools/convert_original_checkpoint.py imagenet-scalenet-54L-74.62%-par25.02M-uxp.vo21.ckpt \
        checkpoints/scalenet_vo21_imagenet.pth --arch vo21

``--arch`` is a preset name (``vo21``, ``D4D5S5``, ``imagenet_d4d5s5``...) or a JSON file/string holding an
arch dict. The output loads strictly into the matching config's ``ImageClassifier``
(``load_from=...`` or ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``).
The source is read with weights-only unpickling; pickled non-tensor objects are replaced by inert stand-ins.
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch

from scalenet_mm.models.backbones import scalenet_name
from scalenet_mm.models.converters import OriginalKeyError, convert_original_state_dict, load_original_checkpoint


def parse_arch(value: str):
    if osp.isfile(value):
        with open(value) as f:
            return json.load(f)
    if value.lstrip().startswith('{'):
        return json.loads(value)
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='authors\' checkpoint (.pth/.ckpt)')
    parser.add_argument('dst', help='output mmpretrain checkpoint (.pth)')
    parser.add_argument('--arch', required=True, help='preset name, or a JSON arch dict / file')
    parser.add_argument('--stem-type', choices=['imagenet', 'cifar'], default=None,
                        help='needed for custom arch dicts without a "stem" key')
    args = parser.parse_args(argv)

    arch = parse_arch(args.arch)
    try:
        checkpoint = load_original_checkpoint(args.src)
        state_dict, dropped = convert_original_state_dict(checkpoint, arch, stem_type=args.stem_type)
    except (OriginalKeyError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    meta = dict(converted_from=osp.basename(args.src), arch=arch, scalenet=scalenet_name(arch),
                dropped_dead_keys=dropped)
    torch.save(dict(state_dict=state_dict, meta=meta), args.dst)
    print(f'converted {len(state_dict)} tensors of {scalenet_name(arch)} -> {args.dst}')
    if dropped:
        print(f'dropped {len(dropped)} keys of modules that never reach the logits (spec §7.4):')
        for key in dropped:
            print(f'  {key}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
