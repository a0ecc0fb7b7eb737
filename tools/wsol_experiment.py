#!/usr/bin/env python
"""The embedded-set WSOL experiment: ScaleNet vs ResNet-18 (comparable parameters, same budget), CAM at the last
level vs a high-resolution level, single- vs multi-scale CAM, per object-size bucket.

    python tools/wsol_experiment.py                      # ~25 min on 1 CPU thread (shared machine)
    python tools/wsol_experiment.py --epochs 1 --num-train 64 --num-test 32 --out work_dirs/wsol_smoke  # smoke

Steps: (1) generate the single-object embedded set in the CUB layout (``--data-root``, 64x64 images);
(2) train ``configs/wsol/scalenet_demo_cub.py`` and ``configs/wsol/resnet18_demo_cub.py`` with mmengine's Runner
for ``--epochs`` epochs each (same data, schedule, seed); (3) evaluate every model with ``tools/wsol_eval.py``'s
``run_wsol_eval`` for each variant in :data:`VARIANTS`; (4) write ``<out>/results.json`` and ``<out>/results.md``
(the tables of docs/wsol_experiment.md), plus the metrics JSON / curve / grid PNGs of every evaluation.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import gc  # noqa: E402

import torch  # noqa: E402

MODELS = {
    'ScaleNet': 'configs/wsol/scalenet_demo_cub.py',
    'ResNet-18': 'configs/wsol/resnet18_demo_cub.py',
    'ResNet-18-s8': 'configs/wsol/resnet18_s8_demo_cub.py',
}
# (name, method, level per model (None: the CAM head's level), multi-scale?)
# high-res level: ScaleNet's stage 1 (stride 4); for ResNet-18 its penultimate layer3 (stride 16), for the
# stride-8 ResNet its stride-4 layer1 (the only level finer than the head).
VARIANTS = [
    ('CAM last level', 'cam', {'ScaleNet': None, 'ResNet-18': None, 'ResNet-18-s8': None}, True),
    ('Grad-CAM last level', 'gradcam',
     {'ScaleNet': 'head_input', 'ResNet-18': 'backbone.layer4', 'ResNet-18-s8': 'backbone.layer4'}, False),
    ('Grad-CAM high-res level', 'gradcam',
     {'ScaleNet': 'backbone.stage1', 'ResNet-18': 'backbone.layer3', 'ResNet-18-s8': 'backbone.layer1'}, True),
    ('LayerCAM high-res level', 'layercam',
     {'ScaleNet': 'backbone.stage1', 'ResNet-18': 'backbone.layer3', 'ResNet-18-s8': 'backbone.layer1'}, True),
    ('LayerCAM stride-8 level', 'layercam',
     {'ScaleNet': 'head_input', 'ResNet-18': 'backbone.layer2', 'ResNet-18-s8': 'backbone.layer3'}, False),
]
SIZES = (32, 48, 64, 96, 128)


def load_cfg(config, data_root, work_dir, epochs, num_train=None):
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    if num_train:
        cfg.train_dataloader.dataset.indices = num_train
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    cfg.default_hooks.checkpoint.interval = epochs
    for sched in cfg.param_scheduler:
        if sched.type == 'CosineAnnealingLR':
            sched.T_max = max(epochs - 1, 1)
            sched.begin = min(1, epochs - 1)
    if epochs == 1:
        cfg.param_scheduler = [s for s in cfg.param_scheduler if s.type == 'LinearLR']
    return cfg


def train(config, data_root, work_dir, epochs, num_train=None):
    """Train with mmengine's Runner; returns (checkpoint path, val metrics, seconds)."""
    from mmengine.runner import Runner
    cfg = load_cfg(config, data_root, work_dir, epochs, num_train)
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    seconds = time.time() - start
    metrics = {}
    scalars = osp.join(runner.log_dir, 'vis_data', 'scalars.json')
    if osp.isfile(scalars):
        with open(scalars) as f:
            for line in f:
                rec = json.loads(line)
                if any(k.startswith('wsol/') or k.startswith('accuracy/') for k in rec):
                    metrics = rec
    ckpt = osp.join(work_dir, f'epoch_{epochs}.pth')
    return cfg, ckpt, metrics, seconds


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def fmt(v):
    return '-' if v is None else f'{v:.1f}'


def write_markdown(results, path):
    lines = []
    lines.append('| model | params | train s | top-1 acc |')
    lines.append('|---|---:|---:|---:|')
    for name, r in results['models'].items():
        lines.append(f"| {name} | {r['params']:,} | {r['train_seconds']:.0f} | {fmt(r['top1_acc'])} |")
    lines.append('')
    lines.append('| model | CAM variant | layer (map size) | fusion | MaxBoxAccV2 | GT-known Loc | Top-1 Loc | PxAP | '
                 'small V2 / GT-k | medium V2 / GT-k | large V2 / GT-k |')
    lines.append('|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|')
    for row in results['rows']:
        m = row['metrics']
        buckets = ' | '.join(f"{fmt(m.get(b + '/MaxBoxAccV2'))} / {fmt(m.get(b + '/GT-known_Loc'))}"
                             for b in ('small', 'medium', 'large'))
        lines.append(f"| {row['model']} | {row['variant']} | {row['layer']} ({row['map_size']}) | {row['fusion']} | "
                     f"{fmt(m.get('MaxBoxAccV2'))} | {fmt(m.get('GT-known_Loc'))} | {fmt(m.get('Top-1_Loc'))} | "
                     f"{fmt(m.get('PxAP'))} | {buckets} |")
    counts = results.get('bucket_counts', {})
    if counts:
        lines.append('')
        lines.append('Test images per bucket (largest GT box area / image area): ' +
                     ', '.join(f'{k} {v}' for k, v in counts.items()) + '.')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default='data/wsol_exp')
    parser.add_argument('--out', default='work_dirs/wsol_exp')
    parser.add_argument('--epochs', type=int, default=24)
    parser.add_argument('--num-train', type=int, default=1200)
    parser.add_argument('--num-test', type=int, default=300)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--sizes', default=','.join(map(str, SIZES)), help='multi-scale input sizes')
    parser.add_argument('--models', nargs='+', default=list(MODELS), choices=list(MODELS))
    parser.add_argument('--skip-train', action='store_true', help='reuse <out>/<model>/epoch_<E>.pth')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from scalenet_mm.datasets import generate_dataset
    from wsol_eval import load_model, parse_sizes, run_wsol_eval
    generate_dataset(args.data_root, num_train=args.num_train, num_test=args.num_test, image_size=64,
                     multi_object=False, seed=0, layouts=('cub', ))
    cub_root = osp.join(args.data_root, 'cub')
    sizes = parse_sizes(args.sizes)
    results = dict(settings=vars(args), models={}, rows=[])
    for name in args.models:
        config = MODELS[name]
        work_dir = osp.join(args.out, name.lower().replace('-', ''))
        if args.skip_train:
            cfg = load_cfg(config, cub_root, work_dir, args.epochs)
            ckpt, val, seconds = osp.join(work_dir, f'epoch_{args.epochs}.pth'), {}, float('nan')
        else:
            print(f'[wsol_experiment] training {name} ({config}) for {args.epochs} epochs', flush=True)
            cfg, ckpt, val, seconds = train(config, cub_root, work_dir, args.epochs)
        _, model = load_model(cfg, ckpt)
        results['models'][name] = dict(config=config, checkpoint=ckpt, params=count_params(model),
                                       backbone_params=count_params(model.backbone), train_seconds=seconds,
                                       runner_val=val, top1_acc=None)
        for variant, method, levels, multi in VARIANTS:
            level = levels[name]
            tag = f"{method}_{str(level).replace('backbone.', '') if level else 'head'}"
            print(f'[wsol_experiment] {name}: {variant} ({method} @ {level or "CAM head"})', flush=True)
            gc.collect()
            res = run_wsol_eval(cfg, ckpt, osp.join(work_dir, 'wsol'), method=method, level=level,
                                multi_scale=sizes if multi else None, progress=False, tag=tag)
            # map size of the layer at the 64x64 input: from the reference maps in the visualisation
            with open(res['files']['metrics']) as f:
                saved = json.load(f)
            for fusion, metrics in res['metrics'].items():
                results['rows'].append(dict(model=name, variant=variant, method=method, layer=res['info']['layer'],
                                            map_size=None, fusion=fusion, metrics=metrics, files=res['files'],
                                            seconds=saved['info']['seconds']))
                if results['models'][name]['top1_acc'] is None:
                    results['models'][name]['top1_acc'] = metrics['top1_acc']
                results.setdefault('bucket_counts', {
                    b: metrics.get(f'{b}/num_samples') for b in ('small', 'medium', 'large')})
        # control: the same architecture with random weights (how much comes from the CAM pipeline + image
        # statistics alone: vivid objects on dull backgrounds are salient even to untrained features)
        for variant, method, levels, _ in VARIANTS:
            if method == 'gradcam':
                continue
            level = levels[name]
            torch.manual_seed(0)
            tag = f"untrained_{method}_{str(level).replace('backbone.', '') if level else 'head'}"
            res = run_wsol_eval(cfg, None, osp.join(work_dir, 'wsol'), method=method, level=level, progress=False,
                                tag=tag, num_vis=4)
            results['rows'].append(dict(model=f'{name} (untrained)', variant=variant, method=method,
                                        layer=res['info']['layer'], map_size=None, fusion='single',
                                        metrics=res['metrics']['single'], files=res['files']))
        # feature-map sizes at the native 64x64 input
        x = torch.zeros(1, 3, 64, 64)
        from scalenet_mm.wsol import build_cam_extractor
        for row in results['rows']:
            if row['model'].split(' (')[0] == name and row['map_size'] is None:
                level = next(levels[name] for variant, _, levels, _ in VARIANTS if variant == row['variant'])
                ext = build_cam_extractor(model, row['method'], level)
                h, w = ext(x, 0).cams.shape[-2:]
                row['map_size'] = f'{h}x{w}'
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    table = write_markdown(results, osp.join(args.out, 'results.md'))
    print(table)
    print(f"[wsol_experiment] wrote {osp.join(args.out, 'results.json')} and results.md")
    return results


if __name__ == '__main__':
    main()
