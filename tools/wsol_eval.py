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
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

DEFAULT_BUCKETS = dict(small=(0.0, 0.1), medium=(0.1, 0.3), large=(0.3, 1.0))
SUMMARY_KEYS = ('MaxBoxAcc', 'MaxBoxAccV2', 'GT-known_Loc', 'Top-1_Loc', 'PxAP', 'best_tau')


def parse_sizes(text: Optional[str]) -> Optional[List[int]]:
    if not text:
        return None
    sizes = [int(v) for v in str(text).replace(' ', '').split(',') if v]
    if not sizes or min(sizes) <= 0:
        raise ValueError(f'--multi-scale needs positive sizes such as 32,64,128, got {text!r}')
    return sizes


def parse_level(text):
    if text is None or isinstance(text, int):
        return text
    return int(text) if text.lstrip('-').isdigit() else text


def load_model(config, checkpoint: Optional[str], cfg_options: Optional[dict] = None, device: str = 'cpu'):
    """``(cfg, model)``: the config's classifier in eval mode with ``checkpoint`` loaded."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    import scalenet_mm  # noqa: F401
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmpretrain.registry import MODELS
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    model.init_weights()
    if checkpoint:
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        if meta.get('dataset_meta'):
            model.dataset_meta = meta['dataset_meta']
    return cfg, model.to(device).eval()


BOX_DATASETS = ('CUBWithBoxes', 'ImageNetWithBoxes')
CROP_TRANSFORMS = ('CenterCrop', 'RandomCrop', 'RandomResizedCrop', 'CropAt', 'TenCrop', 'FiveCrop')


def wsol_dataset_cfg(dataset: dict) -> dict:
    """A copy of a test ``dataset`` config that yields GT boxes: box data sets pass; a ``CustomDataset`` /
    ``ImageNet`` folder with a ``val_boxes/`` (or ``test_boxes/``) folder of VOC XMLs next to its images (the
    embedded set's ImageNet layout) becomes ``ImageNetWithBoxes``; ``PackInputs`` gets ``gt_bboxes`` /
    ``gt_mask`` as algorithm keys. Crops in the pipeline are refused (they break the CAM-to-image frame)."""
    dataset = dataset.copy()
    if dataset.get('type') not in BOX_DATASETS:
        root = dataset.get('data_root', '')
        prefix = dataset.get('data_prefix', 'val')
        prefix = prefix.get('img_path', 'val') if isinstance(prefix, dict) else (prefix or 'val')
        box_dir = f'{osp.basename(str(prefix).rstrip("/"))}_boxes'
        if dataset.get('type') not in ('CustomDataset', 'ImageNet') or not osp.isdir(osp.join(root, box_dir)):
            raise ValueError(f"the test data set ({dataset.get('type')}) has no boxes; use CUBWithBoxes / "
                             f'ImageNetWithBoxes (or an ImageNet-layout folder with {box_dir}/ XMLs)')
        dataset = dict(type='ImageNetWithBoxes', data_root=root, data_prefix=prefix, bbox_dir=box_dir,
                       ann_file=dataset.get('ann_file', ''), classes=dataset.get('classes'),
                       pipeline=dataset.get('pipeline', []))
    pipeline = []
    for step in dataset.get('pipeline', []):
        step = dict(step)
        if step.get('type') in CROP_TRANSFORMS:
            raise ValueError(f"WSOL evaluation needs a whole-image test pipeline, found {step['type']}; "
                             "use dict(type='Resize', scale=(W, H))")
        if step.get('type') == 'PackInputs':
            keys = tuple(step.get('algorithm_keys', ()))
            step['algorithm_keys'] = keys + tuple(k for k in ('gt_bboxes', 'gt_mask') if k not in keys)
        pipeline.append(step)
    dataset['pipeline'] = pipeline
    return dataset


def build_dataloader(cfg, num_samples: Optional[int] = None, batch_size: Optional[int] = None):
    from mmengine.runner import Runner
    dl_cfg = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if dl_cfg is None:
        raise KeyError('the config has neither test_dataloader nor val_dataloader')
    dl_cfg = dl_cfg.copy()
    dl_cfg['dataset'] = wsol_dataset_cfg(dl_cfg['dataset'])
    if num_samples:
        dl_cfg['dataset']['indices'] = int(num_samples)
    if batch_size:
        dl_cfg['batch_size'] = batch_size
    dl_cfg['num_workers'] = 0
    dl_cfg.pop('persistent_workers', None)
    return Runner.build_dataloader(dl_cfg)


def _field(sample, name):
    return sample.get(name, None) if hasattr(sample, 'get') else None


def _eval_record(sample, cam: torch.Tensor, pred_label: int) -> Dict:
    rec = dict(pred_cam=cam, ori_shape=sample.ori_shape, gt_label=sample.gt_label, pred_label=pred_label)
    for key in ('gt_bboxes', 'gt_mask'):
        value = _field(sample, key)
        if value is not None:
            rec[key] = value
    return rec


def evaluate_wsol(model, dataloader, method: str = 'cam', level=None, multi_scale: Optional[Sequence[int]] = None,
                  size_buckets: Optional[dict] = DEFAULT_BUCKETS, num_vis: int = 16, progress: bool = True,
                  threshold_step: float = 0.01) -> Dict:
    """Run the CAM extractor over ``dataloader``; returns ``dict(metrics={variant: {...}}, vis=[...],
    info={...})``. Variants: ``single`` and, with ``multi_scale``, ``ms_mean`` and ``ms_max``."""
    from mmengine.utils import ProgressBar

    from scalenet_mm.evaluation import WSOLMetric
    from scalenet_mm.wsol import MultiScaleCAM, build_cam_extractor
    extractor = build_cam_extractor(model, method, level)
    ms = MultiScaleCAM(extractor, sizes=multi_scale) if multi_scale else None
    variants = ['single'] + (['ms_mean', 'ms_max'] if ms else [])
    metrics = {v: WSOLMetric(size_buckets=size_buckets, return_curves=True, threshold_step=threshold_step)
               for v in variants}
    vis: List[Dict] = []
    correct = total = 0
    bar = ProgressBar(len(dataloader.dataset)) if progress else None
    start = time.time()
    for data in dataloader:
        data = model.data_preprocessor(data, False)
        inputs, samples = data['inputs'], data['data_samples']
        targets = torch.stack([torch.as_tensor(s.gt_label).reshape(-1)[0] for s in samples]).long()
        if ms is not None:
            out = ms(inputs, targets)
            maps = dict(single=out['reference'], ms_mean=out['mean'], ms_max=out['max'])
            scores = out['scores']
        else:
            res = extractor(inputs, targets)
            maps, scores = dict(single=res.cams), res.scores
        preds = scores.argmax(dim=1)
        correct += int((preds == targets.to(preds.device)).sum())
        total += len(samples)
        for variant in variants:
            metrics[variant].process(None, [
                _eval_record(s, maps[variant][i].detach().cpu(), int(preds[i])) for i, s in enumerate(samples)])
        for i, s in enumerate(samples):
            if len(vis) < num_vis:
                vis.append(dict(img_path=s.img_path, ori_shape=tuple(s.ori_shape), gt_label=int(targets[i]),
                                pred_label=int(preds[i]), gt_bboxes=np.asarray(_field(s, 'gt_bboxes')),
                                cams={v: maps[v][i].detach().cpu().numpy() for v in variants}))
            if bar is not None:
                bar.update()
    if bar is not None:
        sys.stdout.write('\n')
    results = {}
    for variant, metric in metrics.items():
        res = metric.compute_metrics(metric.results)
        res['top1_acc'] = 100.0 * correct / max(total, 1)
        results[variant] = res
    info = dict(method=method, layer=getattr(extractor, 'layer_name', None), num_samples=total,
                multi_scale=list(ms.sizes[i][0] for i in range(len(ms.sizes))) if ms else None,
                multi_scale_used=[s[0] for s in ms.usable] if ms else None, seconds=round(time.time() - start, 1))
    return dict(metrics=results, vis=vis, info=info)


def plot_curves(metrics: Dict[str, dict], path: str, title: str = '') -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for index, (variant, res) in enumerate(metrics.items()):
        tau = res.get('curve/tau')
        if tau is None:
            continue
        color = f'C{index}'  # one colour per CAM variant, one line style per IoU threshold
        for key, style in (('curve/BoxAcc@IoU0.3', ':'), ('curve/BoxAcc@IoU0.5', '-'), ('curve/BoxAcc@IoU0.7', '--')):
            if key in res:
                ax.plot(tau, res[key], style, color=color, label=f'{variant} IoU{key[-3:]}')
    ax.set_xlabel('CAM threshold tau')
    ax.set_ylabel('box accuracy (%)')
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title or 'box accuracy vs threshold', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _overlay(image: np.ndarray, cam01: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    import cv2
    heat = cv2.applyColorMap((cam01 * 255).astype(np.uint8), cv2.COLORMAP_JET)[:, :, ::-1]
    return (image * (1 - alpha) + heat * alpha).astype(np.uint8)


def _predicted_box(cam01: np.ndarray, tau: float) -> Optional[np.ndarray]:
    from scalenet_mm.wsol import boxes_from_cam
    boxes = boxes_from_cam(cam01, [tau], multi_contour=False)[0]
    return boxes[0] if len(boxes) else None


def plot_grid(vis: List[Dict], metrics: Dict[str, dict], path: str, class_names=None) -> None:
    """Rows: images; columns: image + GT box, then one CAM overlay per variant with the predicted box (red)
    at the variant's best threshold and the GT box (green)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.patches as patches
    import matplotlib.pyplot as plt
    import mmcv

    from scalenet_mm.wsol import prepare_cam
    if not vis:
        return
    variants = list(vis[0]['cams'])
    cols = 1 + len(variants)
    fig, axes = plt.subplots(len(vis), cols, figsize=(1.9 * cols, 1.9 * len(vis)), squeeze=False)

    def draw(ax, box, color):
        if box is None:
            return
        x0, y0, x1, y1 = (float(v) for v in box)
        ax.add_patch(patches.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0 + 1, y1 - y0 + 1, fill=False,
                                       edgecolor=color, linewidth=1.5))

    for r, item in enumerate(vis):
        image = mmcv.imread(item['img_path'], channel_order='rgb')
        h, w = image.shape[:2]
        name = (class_names[item['gt_label']] if class_names else str(item['gt_label']))
        axes[r, 0].imshow(image)
        axes[r, 0].set_title(f'{name}' + ('' if item['pred_label'] == item['gt_label'] else ' (wrong)'),
                             fontsize=6)
        for box in item['gt_bboxes'].reshape(-1, 4):
            draw(axes[r, 0], box, 'lime')
        for c, variant in enumerate(variants, start=1):
            cam01 = prepare_cam(item['cams'][variant], (h, w))
            tau = float(metrics[variant].get('best_tau', 0.5))
            ax = axes[r, c]
            ax.imshow(_overlay(image, cam01))
            for box in item['gt_bboxes'].reshape(-1, 4):
                draw(ax, box, 'lime')
            draw(ax, _predicted_box(cam01, tau), 'red')
            if r == 0:
                ax.set_title(f'{variant} (tau={tau:.2f})', fontsize=6)
    for ax in axes.ravel():
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summarize(metrics: Dict[str, dict]) -> Dict[str, dict]:
    """The headline numbers (no curves) of each variant, prefix stripped."""
    out = {}
    for variant, res in metrics.items():
        out[variant] = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in res.items()
                        if not k.startswith('curve/')}
    return out


def run_wsol_eval(config, checkpoint: Optional[str], work_dir: str, method: str = 'cam', level=None,
                  multi_scale: Optional[Sequence[int]] = None, num_samples: Optional[int] = None,
                  num_vis: int = 12, cfg_options: Optional[dict] = None, progress: bool = True,
                  size_buckets: Optional[dict] = DEFAULT_BUCKETS, tag: str = 'wsol') -> Dict:
    """Evaluate and write ``<tag>_metrics.json``, ``<tag>_curves.png``, ``<tag>_grid.png`` into ``work_dir``.
    Returns ``dict(metrics=summary, files={...}, info={...})``."""
    cfg, model = load_model(config, checkpoint, cfg_options)
    loader = build_dataloader(cfg, num_samples)
    out = evaluate_wsol(model, loader, method=method, level=parse_level(level), multi_scale=multi_scale,
                        size_buckets=size_buckets, num_vis=num_vis, progress=progress)
    os.makedirs(work_dir, exist_ok=True)
    files = dict(metrics=osp.join(work_dir, f'{tag}_metrics.json'), curves=osp.join(work_dir, f'{tag}_curves.png'),
                 grid=osp.join(work_dir, f'{tag}_grid.png'))
    summary = summarize(out['metrics'])
    curves = {v: {k: r[k] for k in r if k.startswith('curve/')} for v, r in out['metrics'].items()}
    info = dict(out['info'], config=str(getattr(config, 'filename', config)), checkpoint=checkpoint)
    with open(files['metrics'], 'w') as f:
        json.dump(dict(info=info, metrics=summary, curves=curves), f, indent=1)
    title = f"{osp.basename(str(info['config']))}: {method} @ {info['layer']}"
    plot_curves(out['metrics'], files['curves'], title)
    classes = getattr(loader.dataset, 'metainfo', {}).get('classes')
    plot_grid(out['vis'], out['metrics'], files['grid'], classes)
    return dict(metrics=summary, files=files, info=info)


def run_wsol_demo(config, checkpoint: str, work_dir: str, multi_scale: Sequence[int] = (32, 48, 64, 96, 128),
                  cfg_options: Optional[dict] = None) -> Dict:
    """The WSOL step of ``make demo``: classic CAM of the trained model (``CAMHead`` maps, or the linear head's
    ``fc`` applied to the un-pooled last map), single- and multi-scale, written to ``<work_dir>/wsol/``; prints
    the headline numbers and where the pictures are. A test set without boxes in the ImageNet folder layout is
    read with its ``val_boxes/`` XMLs (see :func:`wsol_dataset_cfg`)."""
    result = run_wsol_eval(config, checkpoint, osp.join(work_dir, 'wsol'), method='cam', multi_scale=multi_scale,
                           cfg_options=cfg_options, progress=sys.stdout.isatty())
    print('[scalenet_mm] weakly supervised localisation (CAM of the GT class):')
    for variant, res in result['metrics'].items():
        print(f"  {variant:8s} MaxBoxAccV2 {res.get('MaxBoxAccV2', float('nan')):6.2f}  "
              f"GT-known Loc {res.get('GT-known_Loc', float('nan')):6.2f}  "
              f"Top-1 Loc {res.get('Top-1_Loc', float('nan')):6.2f}" +
              (f"  PxAP {res['PxAP']:6.2f}" if 'PxAP' in res else ''))
    for key, path in result['files'].items():
        print(f'  {key:8s} {osp.abspath(path)}')
    return result


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='WSOL evaluation (MaxBoxAccV2, GT-known Loc, PxAP) from CAMs')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', default=None, help='model weights (omit: random init)')
    parser.add_argument('--work-dir', default=None, help='output folder (default work_dirs/wsol_eval/<config>)')
    parser.add_argument('--method', default='cam', choices=('cam', 'gradcam', 'gradcampp', 'layercam'))
    parser.add_argument('--level', default=None,
                        help='target layer of the gradient methods: a name (backbone.stage1, backbone.layer3, '
                        'stage1.a3, head_input) or a level index (ScaleNet: 0 stem .. S+1 head input; ResNet: 1..4)')
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
        torch.set_num_threads(args.threads)
    work_dir = args.work_dir or osp.join('work_dirs', 'wsol_eval', osp.splitext(osp.basename(args.config))[0])
    result = run_wsol_eval(args.config, args.checkpoint, work_dir, method=args.method, level=args.level,
                           multi_scale=parse_sizes(args.multi_scale), num_samples=args.num_samples,
                           num_vis=args.num_vis, cfg_options=args.cfg_options, progress=not args.no_progress,
                           tag=args.tag)
    print(json.dumps(dict(info=result['info'],
                          metrics={v: {k: r[k] for k in SUMMARY_KEYS if k in r} for v, r in result['metrics'].items()},
                          files=result['files']), indent=1))
    return result


if __name__ == '__main__':
    main()
