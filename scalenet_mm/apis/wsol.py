"""Weakly supervised localisation of a classifier from its CAMs: evaluate a split, write metrics and pictures."""
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch.nn as nn

from .cams import build_cam_dataloader, build_cam_fn, gt_targets, iter_cams, parse_level
from .config import ConfigLike
from .model import init_model

__all__ = ['DEFAULT_BUCKETS', 'SUMMARY_KEYS', 'evaluate_wsol', 'headline_metrics', 'summarize', 'run_wsol_eval']

DEFAULT_BUCKETS = dict(small=(0.0, 0.1), medium=(0.1, 0.3), large=(0.3, 1.0))
SUMMARY_KEYS = ('MaxBoxAcc', 'MaxBoxAccV2', 'GT-known_Loc', 'Top-1_Loc', 'PxAP', 'best_tau')


def _field(sample, name):
    return sample.get(name, None) if hasattr(sample, 'get') else None


def evaluate_wsol(model: nn.Module, dataloader, method: str = 'cam', level=None,
                  multi_scale: Optional[Sequence[int]] = None, size_buckets: Optional[dict] = DEFAULT_BUCKETS,
                  num_vis: int = 16, progress: bool = True, threshold_step: float = 0.01,
                  protocol: str = 'reference', variants: Optional[Sequence[str]] = None) -> Dict:
    """CAMs of the GT class over ``dataloader`` scored by :class:`~scalenet_mm.evaluation.WSOLMetric` under
    ``protocol`` (``'reference'``: Choe et al.'s evaluation exactly; ``'legacy'``: the geometry before it).

    Returns ``dict(metrics={variant: {...}}, vis=[...], info={...})``; variants are ``single`` and, with
    ``multi_scale``, ``ms_mean`` and ``ms_max``; ``variants`` scores only those (the box metric costs more than
    the maps). ``vis`` keeps the first ``num_vis`` images for the overlay grid.
    """
    from scalenet_mm.evaluation import WSOLMetric
    cam_fn, info = build_cam_fn(model, method, level, multi_scale)
    metrics = {}
    vis: List[Dict] = []
    correct = total = 0
    start = time.time()
    for samples, (maps, scores) in iter_cams(model, dataloader, cam_fn, gt_targets, progress):
        if not metrics:
            unknown = sorted(set(variants or ()) - set(maps))
            if unknown:
                raise ValueError(f'variants {unknown} are not computed here; available: {sorted(maps)} '
                                 '(ms_mean / ms_max need multi_scale)')
            metrics = {v: WSOLMetric(size_buckets=size_buckets, return_curves=True, threshold_step=threshold_step,
                                     protocol=protocol) for v in maps if variants is None or v in variants}
        targets = gt_targets(samples)
        preds = scores.argmax(dim=1)
        correct += int((preds == targets.to(preds.device)).sum())
        total += len(samples)
        for variant, metric in metrics.items():
            records = []
            for i, s in enumerate(samples):
                rec = dict(pred_cam=maps[variant][i].detach().cpu(), ori_shape=s.ori_shape, gt_label=s.gt_label,
                           pred_label=int(preds[i]))
                rec.update({k: _field(s, k) for k in ('gt_bboxes', 'gt_mask') if _field(s, k) is not None})
                records.append(rec)
            metric.process(None, records)
        for i, s in enumerate(samples[:max(num_vis - len(vis), 0)]):
            vis.append(dict(img_path=s.img_path, ori_shape=tuple(s.ori_shape), gt_label=int(targets[i]),
                            pred_label=int(preds[i]), gt_bboxes=np.asarray(_field(s, 'gt_bboxes')),
                            cams={v: maps[v][i].detach().cpu().numpy() for v in metrics}))
    results = {}
    for variant, metric in metrics.items():
        res = metric.compute_metrics(metric.results)
        res['top1_acc'] = 100.0 * correct / max(total, 1)
        results[variant] = res
    info.update(num_samples=total, protocol=protocol, seconds=round(time.time() - start, 1))
    return dict(metrics=results, vis=vis, info=info)


def headline_metrics(metrics: dict, digits: int = 2) -> dict:
    """The numbers of one variant's metrics without the curves (``WSOLMetric``'s flat ``curve/...`` keys and the
    raw evaluators' nested ``curves``), floats rounded to ``digits``."""
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in metrics.items()
            if k != 'curves' and not k.startswith('curve/')}


def summarize(metrics: Dict[str, dict]) -> Dict[str, dict]:
    """The headline numbers (no curves) of each variant, rounded to 2 decimals."""
    return {variant: headline_metrics(res) for variant, res in metrics.items()}


def run_wsol_eval(config: ConfigLike, checkpoint: Optional[str], work_dir: str, method: str = 'cam', level=None,
                  multi_scale: Optional[Sequence[int]] = None, num_samples: Optional[int] = None,
                  num_vis: int = 12, cfg_options: Optional[dict] = None, progress: bool = True,
                  size_buckets: Optional[dict] = DEFAULT_BUCKETS, tag: str = 'wsol',
                  data_root: Optional[str] = None, protocol: str = 'reference') -> Dict:
    """Evaluate a config + checkpoint (``None``: the config's random init) on its test split and write
    ``<tag>_metrics.json``, ``<tag>_curves.png`` and ``<tag>_grid.png`` into ``work_dir``.

    Returns ``dict(metrics=summary, files={...}, info={...})``.
    """
    from scalenet_mm.visualization import plot_threshold_curves, plot_wsol_grid
    model = init_model(config, checkpoint, cfg_options=cfg_options, data_root=data_root)
    loader = build_cam_dataloader(model.cfg, num_samples=num_samples)
    out = evaluate_wsol(model, loader, method=method, level=parse_level(level), multi_scale=multi_scale,
                        size_buckets=size_buckets, num_vis=num_vis, progress=progress, protocol=protocol)
    os.makedirs(work_dir, exist_ok=True)
    files = dict(metrics=osp.join(work_dir, f'{tag}_metrics.json'), curves=osp.join(work_dir, f'{tag}_curves.png'),
                 grid=osp.join(work_dir, f'{tag}_grid.png'))
    summary = summarize(out['metrics'])
    curves = {v: {k: r[k] for k in r if k.startswith('curve/')} for v, r in out['metrics'].items()}
    info = dict(out['info'], config=str(getattr(config, 'filename', config)), checkpoint=checkpoint)
    with open(files['metrics'], 'w') as f:
        json.dump(dict(info=info, metrics=summary, curves=curves), f, indent=1)
    title = f"{osp.basename(str(info['config']))}: {method} @ {info['layer']}"
    plot_threshold_curves(out['metrics'], files['curves'], title)
    classes = getattr(loader.dataset, 'metainfo', {}).get('classes')
    plot_wsol_grid(out['vis'], out['metrics'], files['grid'], classes, protocol)
    return dict(metrics=summary, files=files, info=info)
