"""The embedded-set WSOL experiment: ScaleNet vs ResNet-18 (comparable parameters, same budget), CAM at the last
level vs a high-resolution level, single- vs multi-scale CAM, per object-size bucket (``tools/wsol_experiment.py``).

Steps: (1) generate the single-object embedded set in the CUB layout (64x64 images); (2) train every model of
:data:`MODELS` with mmengine's Runner (same data, schedule, seed); (3) evaluate each :data:`VARIANTS` entry with
:func:`scalenet_mm.apis.run_wsol_eval`, and the untrained twin of each model; (4) write ``<out>/results.json`` and
``<out>/results.md`` plus the metrics JSON / curve / grid PNGs of every evaluation.
"""
import gc
import json
import os
import os.path as osp
import time
from typing import Dict, Optional, Sequence

import torch
from mmengine.config import Config

from scalenet_mm.apis import init_model, last_record_with, load_config, run_train, run_wsol_eval
from scalenet_mm.wsol import build_cam_extractor

__all__ = ['MODELS', 'VARIANTS', 'SIZES', 'QUICK', 'experiment_config', 'train', 'run_experiment',
           'write_markdown']

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
#: The smoke run (``--quick``): what CI runs.
QUICK = dict(epochs=1, num_train=64, num_test=32)


def experiment_config(config: str, data_root: str, work_dir: str, epochs: int,
                      num_train: Optional[int] = None) -> Config:
    """A model's config with the experiment's data and an ``epochs``-long schedule (the cosine phase after the
    1-epoch warm-up spans the rest; a 1-epoch run keeps only the warm-up)."""
    cfg = load_config(config, work_dir=work_dir, data_root=data_root)
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


def train(config: str, data_root: str, work_dir: str, epochs: int, num_train: Optional[int] = None):
    """Train with mmengine's Runner; returns ``(cfg, checkpoint path, last validation record, seconds)``."""
    cfg = experiment_config(config, data_root, work_dir, epochs, num_train)
    start = time.time()
    runner = run_train(cfg)
    seconds = time.time() - start
    metrics = last_record_with(runner.log_dir, ('wsol/', 'accuracy/'))
    return cfg, osp.join(work_dir, f'epoch_{epochs}.pth'), metrics, seconds


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _tag(method: str, level) -> str:
    return f"{method}_{str(level).replace('backbone.', '') if level else 'head'}"


def run_experiment(data_root: str = 'data/wsol_exp', out: str = 'work_dirs/wsol_exp', epochs: int = 24,
                   num_train: int = 1200, num_test: int = 300, sizes: Sequence[int] = SIZES,
                   models: Sequence[str] = tuple(MODELS), skip_train: bool = False,
                   protocol: str = 'reference') -> Dict:
    """Run the experiment (see the module docstring); returns the results written to ``<out>/results.json``."""
    from scalenet_mm.datasets import generate_dataset
    generate_dataset(data_root, num_train=num_train, num_test=num_test, image_size=64, multi_object=False, seed=0,
                     layouts=('cub', ))
    cub_root = osp.join(data_root, 'cub')
    settings = dict(data_root=data_root, out=out, epochs=epochs, num_train=num_train, num_test=num_test,
                    sizes=','.join(map(str, sizes)), models=list(models), skip_train=skip_train, protocol=protocol)
    results = dict(settings=settings, models={}, rows=[])
    for name in models:
        config = MODELS[name]
        work_dir = osp.join(out, name.lower().replace('-', ''))
        if skip_train:
            cfg = experiment_config(config, cub_root, work_dir, epochs)
            ckpt, val, seconds = osp.join(work_dir, f'epoch_{epochs}.pth'), {}, float('nan')
        else:
            print(f'[wsol_experiment] training {name} ({config}) for {epochs} epochs', flush=True)
            cfg, ckpt, val, seconds = train(config, cub_root, work_dir, epochs)
        model = init_model(cfg, ckpt)
        results['models'][name] = dict(config=config, checkpoint=ckpt, params=count_params(model),
                                       backbone_params=count_params(model.backbone), train_seconds=seconds,
                                       runner_val=val, top1_acc=None)
        for variant, method, levels, multi in VARIANTS:
            level = levels[name]
            print(f'[wsol_experiment] {name}: {variant} ({method} @ {level or "CAM head"})', flush=True)
            gc.collect()
            res = run_wsol_eval(cfg, ckpt, osp.join(work_dir, 'wsol'), method=method, level=level,
                                multi_scale=sizes if multi else None, progress=False, tag=_tag(method, level),
                                protocol=protocol)
            for fusion, metrics in res['metrics'].items():
                results['rows'].append(dict(model=name, variant=variant, method=method, layer=res['info']['layer'],
                                            map_size=None, fusion=fusion, metrics=metrics, files=res['files'],
                                            seconds=res['info']['seconds']))
                if results['models'][name]['top1_acc'] is None:
                    results['models'][name]['top1_acc'] = metrics['top1_acc']
                results.setdefault('bucket_counts', {
                    b: metrics.get(f'{b}/num_samples') for b in ('small', 'medium', 'large')})
        # control: the same architecture with random weights (what the CAM pipeline and the image statistics
        # give without learning)
        for variant, method, levels, _ in VARIANTS:
            if method == 'gradcam':
                continue
            level = levels[name]
            torch.manual_seed(0)
            res = run_wsol_eval(cfg, None, osp.join(work_dir, 'wsol'), method=method, level=level, progress=False,
                                tag=f'untrained_{_tag(method, level)}', num_vis=4, protocol=protocol)
            results['rows'].append(dict(model=f'{name} (untrained)', variant=variant, method=method,
                                        layer=res['info']['layer'], map_size=None, fusion='single',
                                        metrics=res['metrics']['single'], files=res['files']))
        # feature-map sizes at the native 64x64 input
        x = torch.zeros(1, 3, 64, 64)
        for row in results['rows']:
            if row['model'].split(' (')[0] == name and row['map_size'] is None:
                level = next(lv[name] for v, _, lv, _ in VARIANTS if v == row['variant'])
                h, w = build_cam_extractor(model, row['method'], level)(x, 0).cams.shape[-2:]
                row['map_size'] = f'{h}x{w}'
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    print(write_markdown(results, osp.join(out, 'results.md')))
    print(f"[wsol_experiment] wrote {osp.join(out, 'results.json')} and results.md")
    return results


def _fmt(v) -> str:
    return '-' if v is None else f'{v:.1f}'


def write_markdown(results: Dict, path: str) -> str:
    """The tables of ``docs/wsol_experiment.md`` from ``results``; written to ``path`` and returned."""
    lines = ['| model | params | train s | top-1 acc |', '|---|---:|---:|---:|']
    for name, r in results['models'].items():
        lines.append(f"| {name} | {r['params']:,} | {r['train_seconds']:.0f} | {_fmt(r['top1_acc'])} |")
    lines += ['', '| model | CAM variant | layer (map size) | fusion | MaxBoxAccV2 | GT-known Loc | Top-1 Loc | PxAP | '
              'small V2 / GT-k | medium V2 / GT-k | large V2 / GT-k |',
              '|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|']
    for row in results['rows']:
        m = row['metrics']
        buckets = ' | '.join(f"{_fmt(m.get(b + '/MaxBoxAccV2'))} / {_fmt(m.get(b + '/GT-known_Loc'))}"
                             for b in ('small', 'medium', 'large'))
        lines.append(f"| {row['model']} | {row['variant']} | {row['layer']} ({row['map_size']}) | {row['fusion']} | "
                     f"{_fmt(m.get('MaxBoxAccV2'))} | {_fmt(m.get('GT-known_Loc'))} | {_fmt(m.get('Top-1_Loc'))} | "
                     f"{_fmt(m.get('PxAP'))} | {buckets} |")
    counts = results.get('bucket_counts', {})
    if counts:
        lines += ['', 'Test images per bucket (largest GT box area / image area): ' +
                  ', '.join(f'{k} {v}' for k, v in counts.items()) + '.']
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return '\n'.join(lines)
