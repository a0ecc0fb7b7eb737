#!/usr/bin/env python
"""`make demo`: generate the embedded data set (cached), train a small ScaleNet on it, test it, report.

Steps (each a function, so more can be appended, e.g. a WSOL evaluation on the returned checkpoint)::

    1. prepare_data()  -> data/demo/{imagenet,cub,coco} (skipped when up to date)
    2. train()         -> mmengine Runner on configs/scalenet/demo_embedded.py, logs every 10 iterations
    3. test()          -> top-1 accuracy of the final checkpoint on the test split (1 crop)
    4. report()        -> work_dirs/demo/{metrics.json, training_curve.png}

``main()`` returns a dict with ``config``, ``checkpoint``, ``work_dir`` and ``metrics``.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))

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


def prepare_data(data_root: str) -> str:
    """Step 1: the embedded data set in all layouts (cached by its `.complete` markers)."""
    from scalenet_mm.datasets import generate_dataset
    generate_dataset(data_root)
    return osp.join(data_root, 'imagenet')


def _cfg_options(imagenet_root: str, epochs=None) -> list:
    opts = [f'{s}_dataloader.dataset.data_root={imagenet_root}' for s in ('train', 'val', 'test')]
    if epochs:  # the cosine phase follows the 1-epoch warm-up: keep it spanning the rest of the run
        opts += [f'train_cfg.max_epochs={epochs}', f'param_scheduler.1.T_max={epochs - 1}']
    return opts


def train(config: str, work_dir: str, imagenet_root: str, epochs=None) -> str:
    """Step 2: train with tools/train.py's code path; returns the final checkpoint."""
    import train as train_tool
    runner = train_tool.main([config, '--work-dir', work_dir, '--cfg-options', *_cfg_options(imagenet_root, epochs)])
    ckpt = osp.join(work_dir, f'epoch_{runner.epoch}.pth')
    assert osp.isfile(ckpt), ckpt
    return ckpt


def test(config: str, checkpoint: str, work_dir: str, imagenet_root: str) -> dict:
    """Step 3: 1-crop test of the checkpoint (tools/test.py's code path)."""
    import test as test_tool
    metrics = test_tool.main([config, checkpoint, '--work-dir', work_dir, '--cfg-options',
                              *_cfg_options(imagenet_root)])
    return {k: float(v) for k, v in metrics.items()}


def read_curves(work_dir: str) -> dict:
    """Per-epoch mean training loss and validation accuracy from the newest mmengine scalars.json."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')), key=osp.getmtime)
    losses, accs = {}, {}
    for f in files:  # the training run's file has both loss and val accuracy
        with open(f) as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        if not any('loss' in r for r in rows):
            continue
        losses, accs = {}, {}
        for r in rows:
            if 'loss' in r and 'epoch' in r:
                losses.setdefault(r['epoch'], []).append(r['loss'])
            if 'accuracy/top1' in r:
                accs[r.get('epoch', r.get('step'))] = r['accuracy/top1']
    return dict(epoch=sorted(losses), loss=[sum(v) / len(v) for _, v in sorted(losses.items())],
                val_epoch=sorted(accs), val_top1=[accs[e] for e in sorted(accs)])


def report(work_dir: str, metrics: dict, summary: dict) -> dict:
    """Step 4: metrics JSON and a loss/accuracy-vs-epoch PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    curves = read_curves(work_dir)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(curves['epoch'], curves['loss'], 'o-', color='tab:red', label='train loss')
    ax.set_xlabel('epoch')
    ax.set_ylabel('train loss (mean over epoch)', color='tab:red')
    ax2 = ax.twinx()
    ax2.plot(curves['val_epoch'], curves['val_top1'], 's-', color='tab:blue', label='test top-1')
    ax2.axhline(100 * CHANCE, ls='--', color='gray', lw=0.8)
    ax2.set_ylabel('top-1 accuracy (%)', color='tab:blue')
    ax2.set_ylim(0, 100)
    ax.set_title('ScaleNet demo on the embedded data set (8 classes, chance 12.5%)')
    fig.tight_layout()
    png = osp.join(work_dir, 'training_curve.png')
    fig.savefig(png, dpi=100)
    plt.close(fig)
    out = dict(summary, metrics=metrics, curves=curves, curve_png=png)
    with open(osp.join(work_dir, 'metrics.json'), 'w') as f:
        json.dump(out, f, indent=2)
    return out


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.epochs is not None and args.epochs < 2:
        raise SystemExit('--epochs must be at least 2 (one warm-up epoch, then the cosine schedule)')
    import torch
    torch.set_num_threads(args.threads)
    os.makedirs(args.work_dir, exist_ok=True)
    start = time.time()
    print('[demo] step 1/4: embedded data set', flush=True)
    imagenet_root = prepare_data(args.data_root)
    print('[demo] step 2/4: training', flush=True)
    ckpt = train(args.config, args.work_dir, imagenet_root, args.epochs)
    train_s = time.time() - start
    print('[demo] step 3/4: testing', flush=True)
    metrics = test(args.config, ckpt, args.work_dir, imagenet_root)
    top1 = metrics['accuracy/top1']
    summary = dict(config=args.config, checkpoint=ckpt, work_dir=args.work_dir, data_root=args.data_root,
                   top1=top1, chance=100 * CHANCE, train_and_data_s=round(train_s, 1),
                   total_s=round(time.time() - start, 1))
    print('[demo] step 4/4: report', flush=True)
    result = report(args.work_dir, metrics, summary)
    print(f'[demo] test top-1 accuracy: {top1:.2f}% (chance {100 * CHANCE:.1f}%), total {result["total_s"]:.0f}s')
    print(f'[demo] metrics: {osp.join(args.work_dir, "metrics.json")}  curve: {result["curve_png"]}')
    print(f'[demo] checkpoint: {ckpt}')
    # WSOL step: CAMs of the trained model against the test boxes (tools/wsol_eval.py, docs/wsol_experiment.md)
    from wsol_eval import run_wsol_demo
    run_wsol_demo(args.config, ckpt, args.work_dir, cfg_options={'test_dataloader.dataset.data_root': imagenet_root})
    return dict(config=args.config, checkpoint=ckpt, work_dir=args.work_dir, metrics=metrics)


if __name__ == '__main__':
    main()
