#!/usr/bin/env python
"""Weakly supervised localisation evaluation of a trained classifier from its class activation maps.

Example::

    python tools/wsol_eval.py configs/wsol/scalenet_demo_cub.py work_dirs/scalenet_demo_cub/epoch_12.pth \
        --work-dir work_dirs/wsol_eval --multi-scale 32,48,64,96,128
    python tools/wsol_eval.py CONFIG CKPT --method layercam --level backbone.stage1   # high-resolution level

Writes ``<work-dir>/wsol_metrics.json`` (MaxBoxAcc, MaxBoxAccV2, GT-known / Top-1 Loc, PxAP when masks are
loaded, per object-size bucket; one entry per CAM variant: ``single`` and, with ``--multi-scale``,
``ms_mean`` / ``ms_max``), ``wsol_curves.png`` (box accuracy vs CAM threshold) and ``wsol_grid.png`` (CAM
overlays with GT boxes in green and predicted boxes in red, at each variant's best threshold).

CAMs are always those of the ground-truth class (the GT-known protocol); Top-1 Loc additionally needs the
prediction at the input size to be right. The test pipeline of the config must resize the whole image
(no crop): boxes / masks stay in the original frame and the CAM is resized back to ``ori_shape``.
"""
import argparse
import json
import os.path as osp

from mmengine.config import DictAction

from scalenet_mm.apis import SUMMARY_KEYS, parse_sizes, run_wsol_eval
from scalenet_mm.wsol import CAM_METHODS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='WSOL evaluation (MaxBoxAccV2, GT-known Loc, PxAP) from CAMs')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', default=None, help='model weights (omit: random init)')
    parser.add_argument('--work-dir', default=None, help='output folder (default work_dirs/wsol_eval/<config>)')
    parser.add_argument('--method', default='cam', choices=CAM_METHODS)
    parser.add_argument('--level', default=None,
                        help='target layer of the gradient methods: a name (backbone.stage1, backbone.layer3, '
                        'stage1.a3, head_input) or a level index (ScaleNet: 0 stem .. S+1 head input; ResNet: 1..4)')
    parser.add_argument('--protocol', default='reference', choices=('reference', 'legacy'),
                        help="box geometry: Choe et al.'s reference evaluation (default) or the earlier one")
    parser.add_argument('--multi-scale', default=None, help='comma-separated input sizes, e.g. 32,64,128,224')
    parser.add_argument('--num-samples', type=int, default=None, help='evaluate only the first N images')
    parser.add_argument('--num-vis', type=int, default=12, help='images in the overlay grid')
    parser.add_argument('--tag', default='wsol', help='output file prefix')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    work_dir = args.work_dir or osp.join('work_dirs', 'wsol_eval', osp.splitext(osp.basename(args.config))[0])
    result = run_wsol_eval(args.config, args.checkpoint, work_dir, method=args.method, level=args.level,
                           multi_scale=parse_sizes(args.multi_scale), num_samples=args.num_samples,
                           num_vis=args.num_vis, cfg_options=args.cfg_options, progress=not args.no_progress,
                           tag=args.tag, protocol=args.protocol)
    print(json.dumps(dict(info=result['info'],
                          metrics={v: {k: r[k] for k in SUMMARY_KEYS if k in r} for v, r in result['metrics'].items()},
                          files=result['files']), indent=1))
    return result


if __name__ == '__main__':
    main()
