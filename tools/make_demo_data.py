#!/usr/bin/env python
"""Generate the embedded data set in the ImageNet, CUB-200-2011 and COCO layouts.

The default is localisation benchmark v2 (shape-only classes, same-appearance distractors, photo and texture
backgrounds, plus a box-labelled selection split); ``--variant v2-digits`` uses real handwritten strokes, and
``--variant legacy`` writes the first (frozen) shape data set byte for byte.

Example::

    python tools/make_demo_data.py --root data/demo
    python tools/make_demo_data.py --root data/demo_multi --multi-object --image-size 96
    python tools/make_demo_data.py --root data/demo_legacy --variant legacy --cifar 10   # + a CIFAR-10 pickle set

Regeneration is skipped when ``<root>/<layout>/.complete`` records the same parameters.
"""
import argparse
import json
import os.path as osp

from scalenet_mm.datasets.layouts import LAYOUTS
from scalenet_mm.datasets.synthetic import VARIANTS, generate_dataset


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default='data/demo', help='output directory (default: data/demo)')
    parser.add_argument('--variant', default='v2', choices=list(VARIANTS), help='data set variant (default v2)')
    parser.add_argument('--multi-object', action='store_true', help='1-4 objects per image')
    parser.add_argument('--num-train', type=int, default=1200, help='train images (default 1200)')
    parser.add_argument('--num-test', type=int, default=300, help='test/val images (default 300)')
    parser.add_argument('--num-selection', type=int, default=None,
                        help='selection-split images (v2 variants; default 5 per class)')
    parser.add_argument('--image-size', type=int, default=64, help='image side in pixels (default 64)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--layouts', nargs='+', default=list(LAYOUTS), choices=list(LAYOUTS),
                        help='layouts to write (default: all)')
    parser.add_argument('--force', action='store_true', help='regenerate even if up to date')
    parser.add_argument('--cifar', type=int, choices=(10, 100), default=None,
                        help='also write a CIFAR-10/100 pickle set of the legacy shapes with --num-train/--num-test '
                        'images')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    summary = generate_dataset(
        args.root,
        num_train=args.num_train,
        num_test=args.num_test,
        image_size=args.image_size,
        multi_object=args.multi_object,
        seed=args.seed,
        layouts=args.layouts,
        force=args.force,
        variant=args.variant,
        num_selection=args.num_selection)
    if args.cifar:
        from scalenet_mm.datasets.cifar_writer import write_cifar_layout
        cifar = write_cifar_layout(
            osp.join(args.root, 'cifar'), {'train': args.num_train, 'test': args.num_test},
            num_classes=args.cifar, seed=args.seed, image_size=args.image_size)
        summary['layouts']['cifar'] = cifar['folder']
        print(f'[scalenet_mm] wrote CIFAR-{args.cifar} layout to {cifar["folder"]}')
    print(json.dumps({k: summary[k] for k in ('root', 'skipped', 'params_hash', 'layouts', 'splits')
                      if k in summary}, indent=2))
    return summary


if __name__ == '__main__':
    main()
