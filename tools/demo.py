#!/usr/bin/env python
"""`make demo`: generate the embedded data set (cached), train a small ScaleNet on it, test it, report.

Steps::

    1. data    -> data/demo/{imagenet,cub,coco} (skipped when up to date)
    2. train   -> mmengine Runner on configs/scalenet/demo_embedded.py, logs every 10 iterations
    3. test    -> top-1 accuracy of the final checkpoint on the test split (1 crop)
    4. report  -> work_dirs/demo/{metrics.json, training_curve.png}
    5. WSOL    -> classic CAMs of the trained model against the test boxes, work_dirs/demo/wsol/

``main()`` returns a dict with ``config``, ``checkpoint``, ``work_dir`` and ``metrics``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

from scalenet_mm.apis import load_config, read_training_curves, run_test, run_train, run_wsol_eval
from scalenet_mm.datasets import generate_dataset
from scalenet_mm.visualization import plot_training_curve

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs', 'scalenet', 'demo_embedded.py')
CHANCE = 1 / 8


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--data-root', default=osp.join(REPO_ROOT, 'data', 'demo'))
    parser.add_argument('--work-dir', default=osp.join(REPO_ROOT, 'work_dirs', 'demo'))
    parser.add_argument('--epochs', type=int, default=None, help='override the config\'s max_epochs')
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads (default 2)')
    return parser.parse_args(argv)


def epoch_options(epochs=None) -> dict:
    """cfg-options for another epoch count: the cosine phase follows the 1-epoch warm-up and spans the rest."""
    return {'train_cfg.max_epochs': epochs, 'param_scheduler.1.T_max': epochs - 1} if epochs else {}


def print_wsol(result: dict) -> None:
    print('[scalenet_mm] weakly supervised localisation (CAM of the GT class):')
    for variant, res in result['metrics'].items():
        print(f"  {variant:8s} MaxBoxAccV2 {res.get('MaxBoxAccV2', float('nan')):6.2f}  "
              f"GT-known Loc {res.get('GT-known_Loc', float('nan')):6.2f}  "
              f"Top-1 Loc {res.get('Top-1_Loc', float('nan')):6.2f}" +
              (f"  PxAP {res['PxAP']:6.2f}" if 'PxAP' in res else ''))
    for key, path in result['files'].items():
        print(f'  {key:8s} {osp.abspath(path)}')


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.epochs is not None and args.epochs < 2:
        raise SystemExit('--epochs must be at least 2 (one warm-up epoch, then the cosine schedule)')
    import torch
    torch.set_num_threads(args.threads)
    os.makedirs(args.work_dir, exist_ok=True)
    start = time.time()
    print('[demo] step 1/5: embedded data set', flush=True)
    generate_dataset(args.data_root)
    imagenet_root = osp.join(args.data_root, 'imagenet')
    print('[demo] step 2/5: training', flush=True)
    cfg = load_config(args.config, epoch_options(args.epochs), args.work_dir, data_root=imagenet_root)
    runner = run_train(cfg)
    ckpt = osp.join(args.work_dir, f'epoch_{runner.epoch}.pth')
    train_s = time.time() - start
    print('[demo] step 3/5: testing', flush=True)
    test_cfg = load_config(args.config, work_dir=args.work_dir, data_root=imagenet_root)
    test_cfg.load_from = ckpt
    metrics = run_test(test_cfg)
    top1 = metrics['accuracy/top1']
    print('[demo] step 4/5: report', flush=True)
    curves = read_training_curves(args.work_dir)
    png = osp.join(args.work_dir, 'training_curve.png')
    plot_training_curve(curves, png, 'ScaleNet demo on the embedded data set (8 classes, chance 12.5%)',
                        chance=100 * CHANCE)
    summary = dict(config=args.config, checkpoint=ckpt, work_dir=args.work_dir, data_root=args.data_root,
                   top1=top1, chance=100 * CHANCE, train_and_data_s=round(train_s, 1),
                   total_s=round(time.time() - start, 1), metrics=metrics, curves=curves, curve_png=png)
    with open(osp.join(args.work_dir, 'metrics.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print(f'[demo] test top-1 accuracy: {top1:.2f}% (chance {100 * CHANCE:.1f}%), total {summary["total_s"]:.0f}s')
    print(f'[demo] metrics: {osp.join(args.work_dir, "metrics.json")}  curve: {png}')
    print(f'[demo] checkpoint: {ckpt}')
    print('[demo] step 5/5: weakly supervised localisation', flush=True)
    result = run_wsol_eval(test_cfg, ckpt, osp.join(args.work_dir, 'wsol'), method='cam',
                           multi_scale=(32, 48, 64, 96, 128), progress=sys.stdout.isatty())
    print_wsol(result)
    return dict(config=args.config, checkpoint=ckpt, work_dir=args.work_dir, metrics=metrics)


if __name__ == '__main__':
    main()
