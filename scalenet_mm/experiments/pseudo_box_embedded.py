"""Weakly supervised detection on the embedded multi-object set: CAM boxes vs pseudo-box vs true-box detectors
(``tools/pseudo_box_experiment.py``, ``docs/detection_pseudo_boxes.md``).

For each backbone (a tiny ScaleNet and ResNet-18):

1. train a multi-label CAM classifier on image-level labels only
   (``configs/detection/embedded/cls_<backbone>_shapes-multilabel.py``);
2. **CAM boxes as detections**: on the val images, every class the classifier scores >= ``score_thr``
   yields its CAM boxes with the class score -> COCO mAP against the true val boxes;
3. pseudo-boxes for the train images from the CAMs of the classes present (the image-level labels are the
   only information taken from the true train annotations);
4. **detector on pseudo-boxes**: Faster R-CNN, backbone initialised from the classifier, trained on the
   pseudo-boxes, tested on the true val boxes (mmdet ``CocoMetric``);
5. **detector on true boxes** (upper bound): the same with the true train boxes.

Every step runs in its own process through :func:`scalenet_mm.apis.isolated.run_isolated`; results go to
``<work_dir>/results.json`` and ``<work_dir>/results.md``.
"""
import json
import os
import os.path as osp
import time
from typing import Dict

from scalenet_mm.apis.isolated import run_isolated

__all__ = ['BACKBONES', 'EMBEDDED_CONFIGS', 'QUICK', 'run_experiment', 'markdown_table']

EMBEDDED_CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs', 'detection',
                            'embedded')
BACKBONES = {
    'scalenet': dict(name='ScaleNet-tiny', cls='cls_scalenet-tiny_shapes-multilabel.py',
                     det='faster-rcnn_scalenet-tiny_fpn_shapes.py'),
    'resnet': dict(name='ResNet-18', cls='cls_r18_shapes-multilabel.py', det='faster-rcnn_r18_fpn_shapes.py'),
}
#: The smoke run (``--quick``): tiny data, one epoch each.
QUICK = dict(num_train=64, num_test=32, cls_epochs=1, det_epochs=1)


def run_experiment(settings: Dict) -> Dict:
    """Run the comparison for ``settings`` (the tool's arguments: ``work_dir``, ``data_root``, ``num_train``,
    ``num_test``, ``image_size``, ``backbones``, ``cls_epochs``, ``det_epochs``, ``thr``, ``min_area``,
    ``score_thr``, ``threads``); writes and returns the results."""
    from scalenet_mm.datasets import generate_dataset
    s = settings
    t0 = time.time()
    work = osp.abspath(s['work_dir'])
    os.makedirs(work, exist_ok=True)
    data_root = osp.abspath(s['data_root'])
    generate_dataset(data_root, num_train=s['num_train'], num_test=s['num_test'], image_size=s['image_size'],
                     multi_object=True, layouts=('coco', ), progress=False)
    coco = osp.join(data_root, 'coco')
    train_json = osp.join(coco, 'annotations', 'instances_train2017.json')
    val_json = osp.join(coco, 'annotations', 'instances_val2017.json')
    data_opts = {f'{split}_dataloader.dataset.data_root': coco + '/' for split in ('train', 'val', 'test')}
    results = dict(settings=dict(s), backbones={})
    for key in s['backbones']:
        spec = BACKBONES[key]
        res = dict(name=spec['name'])
        bdir = osp.join(work, key)
        # 1. the CAM classifier (image-level labels only)
        cls_cfg = osp.join(EMBEDDED_CONFIGS, spec['cls'])
        cls_dir = osp.join(bdir, 'classifier')
        m = run_isolated('train_and_test', dict(config=cls_cfg, work_dir=cls_dir, cfg_options=dict(
            data_opts, **{'train_cfg.max_epochs': s['cls_epochs']})), osp.join(cls_dir, 'run.log'), s['threads'])
        res['classifier'] = dict(metrics=m['metrics'], train_s=m['train_s'])
        cls_ckpt = osp.join(cls_dir, f"epoch_{s['cls_epochs']}.pth")
        # 2./3. CAM boxes: as detections on val, as pseudo-boxes on train
        res['cam'] = {}
        for mode in ('single', 'multi'):
            boxes = dict(thr=s['thr'], multi_contour=mode == 'multi', min_area=s['min_area'] if mode == 'multi' else 0)
            pseudo = osp.join(bdir, f'pseudo_train_{mode}.json')
            quality = run_isolated('pseudo_boxes', dict(config=cls_cfg, checkpoint=cls_ckpt, ann_file=train_json,
                                                        img_dir=osp.join(coco, 'train2017'), out=pseudo, **boxes),
                                   osp.join(bdir, f'cam_to_coco_train_{mode}.log'), s['threads'])
            cam_eval = run_isolated('cam_detections', dict(
                config=cls_cfg, checkpoint=cls_ckpt, ann_file=val_json, img_dir=osp.join(coco, 'val2017'),
                out=osp.join(bdir, f'cam_detections_val_{mode}.json'), score_thr=s['score_thr'], **boxes),
                osp.join(bdir, f'cam_to_coco_val_{mode}.log'), s['threads'])
            res['cam'][mode] = dict(pseudo_quality=quality, val_detection=cam_eval)
        # 4./5. detectors: pseudo-boxes (multi-contour) and true boxes, backbone from the classifier
        det_cfg = osp.join(EMBEDDED_CONFIGS, spec['det'])
        init = {'model.backbone.init_cfg': dict(_delete_=True, type='Pretrained', checkpoint=cls_ckpt,
                                                prefix='backbone.'),
                'train_cfg.max_epochs': s['det_epochs'], 'train_cfg.val_interval': s['det_epochs'],
                'default_hooks.checkpoint.interval': s['det_epochs'],
                'val_evaluator.ann_file': val_json, 'test_evaluator.ann_file': val_json}
        res['detector'] = {}
        for name, ann in (('pseudo_multi', osp.join(bdir, 'pseudo_train_multi.json')), ('true', train_json)):
            det_dir = osp.join(bdir, f'det_{name}')
            opts = dict(data_opts, **init, **{'train_dataloader.dataset.ann_file': ann})
            m = run_isolated('train_and_test', dict(config=det_cfg, work_dir=det_dir, cfg_options=opts),
                             osp.join(det_dir, 'run.log'), s['threads'])
            res['detector'][name] = dict(metrics={k.replace('coco/', ''): v for k, v in m['metrics'].items()},
                                         train_s=m['train_s'])
        results['backbones'][key] = res
        write_results(work, results, t0)
    write_results(work, results, t0)
    return results


def _fmt(v) -> str:
    return '-' if v is None else f'{100 * v:.1f}'


def markdown_table(results: Dict) -> str:
    """The tables of ``docs/detection_pseudo_boxes.md``."""
    s = results['settings']
    lines = [
        f"Embedded multi-object set: {s['num_train']} train / {s['num_test']} val images of "
        f"{s['image_size']}x{s['image_size']}, 8 classes, 1-4 objects per image. CAM threshold tau={s['thr']}, "
        f"multi-contour min area {s['min_area']} px, CAM detections from classes scored >= {s['score_thr']}; "
        f"classifier {s['cls_epochs']} epochs, detectors {s['det_epochs']} epochs. COCO bbox metrics on the "
        'true val boxes (x100).', '',
        '| backbone | method | mAP | AP50 | AP75 | AP_small | AP_medium |',
        '|---|---|---|---|---|---|---|',
    ]
    keys = ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s', 'bbox_mAP_m')
    for res in results['backbones'].values():
        rows = []
        for mode in ('single', 'multi'):
            m = res.get('cam', {}).get(mode, {}).get('val_detection')
            if m:
                rows.append((f'(1) CAM boxes as detections, {mode}-contour', m))
        for name, label in (('pseudo_multi', '(2) Faster R-CNN on CAM pseudo-boxes (multi-contour)'),
                            ('true', '(3) Faster R-CNN on true boxes (upper bound)')):
            m = res.get('detector', {}).get(name, {}).get('metrics')
            if m:
                rows.append((label, m))
        for label, m in rows:
            lines.append(f"| {res['name']} | {label} | {' | '.join(_fmt(m.get(k)) for k in keys)} |")
    lines += ['', 'Pseudo-box quality on the train images (same class, IoU >= 0.5 against the true boxes) and '
              'classifier quality on val:', '',
              '| backbone | pseudo-boxes | boxes / image | recall@0.5 | precision@0.5 | classifier val mAP |',
              '|---|---|---|---|---|---|']
    for res in results['backbones'].values():
        cls_map = res.get('classifier', {}).get('metrics', {}).get('multi-label/mAP')
        for mode in ('single', 'multi'):
            q = res.get('cam', {}).get(mode, {}).get('pseudo_quality')
            if q:
                cm = '-' if cls_map is None else f'{cls_map:.1f}'
                lines.append(f"| {res['name']} | {mode}-contour | {q['boxes_per_image']:.2f} | "
                             f"{_fmt(q['recall_iou50'])} | {_fmt(q['precision_iou50'])} | {cm} |")
    lines += ['', f"Total wall time: {results.get('elapsed_s', 0) / 60:.1f} min."]
    return '\n'.join(lines) + '\n'


def write_results(work: str, results: Dict, t0: float) -> None:
    results['elapsed_s'] = round(time.time() - t0, 1)
    with open(osp.join(work, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    with open(osp.join(work, 'results.md'), 'w') as f:
        f.write(markdown_table(results))
