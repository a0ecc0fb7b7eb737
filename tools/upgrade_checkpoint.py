#!/usr/bin/env python
"""Rewrite a TRUSTED checkpoint written by plain mmengine 0.10.x so torch's weights-only loading accepts it.

Plain mmengine pickles HistoryBuffer statistics *functions* (via ``builtins.getattr``), which weights-only
loading refuses, rightly. This tool loads the file with full unpickling -- which can run code stored in the
file, hence the mandatory ``--trust`` -- and saves a plain-data copy:

    python tools/upgrade_checkpoint.py --trust work_dirs/old/epoch_10.pth work_dirs/old/epoch_10.plain.pth
"""
import argparse
import sys

from scalenet_mm.engine.checkpoint_safety import upgrade_legacy_checkpoint


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src')
    parser.add_argument('dst')
    parser.add_argument('--trust', action='store_true',
                        help='confirm that SRC comes from a trusted source (full unpickling runs its code)')
    args = parser.parse_args(argv)
    if not args.trust:
        parser.error('refusing to fully unpickle an untrusted file: pass --trust if you trust it')
    refused = upgrade_legacy_checkpoint(args.src, args.dst, trust=True)
    print(f'wrote {args.dst}; globals weights-only loading refused in the source: {refused or "none"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
