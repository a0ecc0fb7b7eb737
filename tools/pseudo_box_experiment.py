"""Weakly supervised detection on the embedded multi-object set: CAM boxes vs. pseudo-box vs. true-box detectors.

For each backbone (a tiny ScaleNet and ResNet-18):

1. train a multi-label CAM classifier on image-level labels only
   (``configs/detection/embedded/cls_<backbone>_shapes-multilabel.py``);
2. **CAM boxes as detections**: on the val images, every class the classifier scores >= ``--score-thr``
   yields its CAM boxes with the class score -> COCO mAP against the true val boxes;
3. ``tools/cam_to_coco.py``: pseudo-boxes for the train images from the CAMs of the classes present
   (the image-level labels are the only information taken from the true train annotations);
4. **detector on pseudo-boxes**: Faster R-CNN (``configs/detection/embedded/faster-rcnn_<backbone>_fpn_shapes.py``),
   backbone initialised from the classifier, trained on the pseudo-boxes, tested on the true val boxes
   (mmdet ``CocoMetric``);
5. **detector on true boxes** (upper bound): the same with the true train boxes.

Results go to ``<work-dir>/results.json`` and ``<work-dir>/results.md`` (the table of
``docs/detection_pseudo_boxes.md``). Every training/testing step runs in its own subprocess (one mmengine
Runner per process) with ``--threads`` torch threads.

    python tools/pseudo_box_experiment.py                 # full run (about 20 min on 1-2 CPU cores)
    python tools/pseudo_box_experiment.py --quick         # smoke run (tiny data, few iterations)
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
EMBEDDED = osp.join(REPO_ROOT, 'configs', 'detection', 'embedded')
BACKBONES = {
    'scalenet': dict(name='ScaleNet-tiny', cls='cls_scalenet-tiny_shapes-multilabel.py',
                     det='faster-rcnn_scalenet-tiny_fpn_shapes.py'),
    'resnet': dict(name='ResNet-18', cls='cls_r18_shapes-multilabel.py', det='faster-rcnn_r18_fpn_shapes.py'),
}


# ------------------------------------------------------------------------------------------------
# `_run` mode: one mmengine Runner (train and/or test) in this process, metrics written as JSON
# ------------------------------------------------------------------------------------------------
def _run(argv):
    p = argparse.ArgumentParser(prog='pseudo_box_experiment.py _run')
    p.add_argument('config')
    p.add_argument('work_dir')
    p.add_argument('--options', default='{}', help='JSON dict merged into the config (dotted keys)')
    p.add_argument('--no-train', action='store_true')
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads)
    sys.path.insert(0, REPO_ROOT)
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(a.config)
    options = json.loads(a.options)
    # dict values replace (rather than merge into) the config value, e.g. init_cfg=None -> Pretrained
    replace = {k: options.pop(k) for k in list(options) if isinstance(options[k], dict)}
    cfg.merge_from_dict(options)
    for key, value in replace.items():
        *parents, leaf = key.split('.')
        node = cfg
        for p in parents:
            node = node[p]
        node[leaf] = value
    cfg.work_dir = a.work_dir
    cfg.experiment_name = osp.basename(a.work_dir.rstrip('/'))
    # evaluate once, with the test loop, after training
    cfg.val_dataloader, cfg.val_evaluator, cfg.val_cfg = None, None, None
    runner = Runner.from_cfg(cfg)
    start = time.time()
    if not a.no_train:
        runner.train()
    train_s = time.time() - start
    metrics = runner.test()
    out = dict(metrics={k: float(v) for k, v in metrics.items()}, train_s=round(train_s, 1),
               total_s=round(time.time() - start, 1))
    with open(osp.join(a.work_dir, 'metrics.json'), 'w') as f:
        json.dump(out, f, indent=1)


def run_config(config, work_dir, options, threads, no_train=False, log=None):
    """Train + test ``config`` in a subprocess; returns the dict written to ``<work_dir>/metrics.json``."""
    os.makedirs(work_dir, exist_ok=True)
    cmd = [sys.executable, osp.abspath(__file__), '_run', config, work_dir, '--options', json.dumps(options),
           '--threads', str(threads)] + (['--no-train'] if no_train else [])
    _call(cmd, log or osp.join(work_dir, 'run.log'))
    with open(osp.join(work_dir, 'metrics.json')) as f:
        return json.load(f)


def _call(cmd, log_path):
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'), PYTHONWARNINGS='ignore')
    start = time.time()
    print(f'$ {" ".join(cmd)}\n  (log: {log_path})', flush=True)
    with open(log_path, 'w') as log:
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=env)
    if rc:
        with open(log_path) as f:
            tail = f.read()[-3000:]
        raise SystemExit(f'command failed (rc={rc}): {" ".join(cmd)}\n--- log tail ---\n{tail}')
    print(f'  done in {time.time() - start:.0f}s', flush=True)


# ------------------------------------------------------------------------------------------------
# the experiment
# ------------------------------------------------------------------------------------------------
def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--work-dir', default='work_dirs/pseudo_box_experiment')
    p.add_argument('--data-root', default='data/demo_det', help='generated here if missing')
    p.add_argument('--num-train', type=int, default=600)
    p.add_argument('--num-test', type=int, default=150)
    p.add_argument('--image-size', type=int, default=96)
    p.add_argument('--backbones', nargs='+', default=list(BACKBONES), choices=list(BACKBONES))
    p.add_argument('--cls-epochs', type=int, default=20)
    p.add_argument('--det-epochs', type=int, default=4)
    p.add_argument('--thr', type=float, default=0.6, help='CAM threshold tau for boxes')
    p.add_argument('--min-area', type=float, default=16, help='multi-contour: drop boxes below this area (px)')
    p.add_argument('--score-thr', type=float, default=0.1, help='CAM detections: classes scored at least this')
    p.add_argument('--threads', type=int, default=1, help='torch threads per step')
    p.add_argument('--quick', action='store_true', help='smoke run: 64 train / 32 test images, 1 epoch each')
    p.add_argument('--report-only', action='store_true',
                   help='only rewrite <work-dir>/results.md from an existing <work-dir>/results.json')
    return p.parse_args(argv)


def main(argv):
    a = parse_args(argv)
    if a.quick:
        a.num_train, a.num_test, a.cls_epochs, a.det_epochs = 64, 32, 1, 1
        if a.data_root == 'data/demo_det':
            a.data_root = 'data/demo_det_quick'
        if a.work_dir == 'work_dirs/pseudo_box_experiment':
            a.work_dir = 'work_dirs/pseudo_box_experiment_quick'
    if a.report_only:
        with open(osp.join(a.work_dir, 'results.json')) as f:
            results = json.load(f)
        with open(osp.join(a.work_dir, 'results.md'), 'w') as f:
            f.write(markdown_table(results))
        print(markdown_table(results))
        return
    sys.path.insert(0, REPO_ROOT)
    from scalenet_mm.datasets.synthetic import generate_dataset
    t0 = time.time()
    work = osp.abspath(a.work_dir)
    os.makedirs(work, exist_ok=True)
    data_root = osp.abspath(a.data_root)
    generate_dataset(data_root, num_train=a.num_train, num_test=a.num_test, image_size=a.image_size,
                     multi_object=True, layouts=('coco', ), progress=False)
    coco = osp.join(data_root, 'coco')
    train_json = osp.join(coco, 'annotations', 'instances_train2017.json')
    val_json = osp.join(coco, 'annotations', 'instances_val2017.json')
    data_opts = {
        'train_dataloader.dataset.data_root': coco + '/',
        'val_dataloader.dataset.data_root': coco + '/',
        'test_dataloader.dataset.data_root': coco + '/',
    }
    results = dict(settings={k: v for k, v in vars(a).items()}, backbones={})
    for key in a.backbones:
        spec = BACKBONES[key]
        res = dict(name=spec['name'])
        bdir = osp.join(work, key)
        # 1. the CAM classifier (image-level labels only)
        cls_cfg = osp.join(EMBEDDED, spec['cls'])
        cls_dir = osp.join(bdir, 'classifier')
        cls_opts = dict(data_opts, **{'train_cfg.max_epochs': a.cls_epochs})
        m = run_config(cls_cfg, cls_dir, cls_opts, a.threads)
        res['classifier'] = dict(metrics=m['metrics'], train_s=m['train_s'])
        cls_ckpt = osp.join(cls_dir, f'epoch_{a.cls_epochs}.pth')
        # 2./3. CAM boxes: as detections on val, as pseudo-boxes on train
        res['cam'] = {}
        for mode in ('single', 'multi'):
            extra = ['--thr', str(a.thr)] + (['--multi-contour', '--min-area', str(a.min_area)]
                                              if mode == 'multi' else [])
            pseudo = osp.join(bdir, f'pseudo_train_{mode}.json')
            _call([sys.executable, osp.join(REPO_ROOT, 'tools', 'cam_to_coco.py'), cls_cfg, cls_ckpt, '--ann',
                   train_json, '--img-dir', osp.join(coco, 'train2017'), '--out', pseudo, '--report-quality',
                   '--threads', str(a.threads)] + extra, osp.join(bdir, f'cam_to_coco_train_{mode}.log'))
            dets = osp.join(bdir, f'cam_detections_val_{mode}.json')
            _call([sys.executable, osp.join(REPO_ROOT, 'tools', 'cam_to_coco.py'), cls_cfg, cls_ckpt, '--ann',
                   val_json, '--img-dir', osp.join(coco, 'val2017'), '--out', dets, '--as-detections',
                   '--score-thr', str(a.score_thr), '--eval', '--threads', str(a.threads)] + extra,
                  osp.join(bdir, f'cam_to_coco_val_{mode}.log'))
            with open(pseudo + '.quality.json') as f:
                quality = json.load(f)
            with open(dets + '.eval.json') as f:
                cam_eval = json.load(f)
            res['cam'][mode] = dict(pseudo_quality=quality, val_detection=cam_eval)
        # 4./5. detectors: pseudo-boxes (multi-contour) and true boxes, backbone from the classifier
        det_cfg = osp.join(EMBEDDED, spec['det'])
        init = {'model.backbone.init_cfg': dict(type='Pretrained', checkpoint=cls_ckpt, prefix='backbone.'),
                'train_cfg.max_epochs': a.det_epochs, 'train_cfg.val_interval': a.det_epochs,
                'default_hooks.checkpoint.interval': a.det_epochs,
                'val_evaluator.ann_file': val_json, 'test_evaluator.ann_file': val_json}
        res['detector'] = {}
        for name, ann in (('pseudo_multi', osp.join(bdir, 'pseudo_train_multi.json')), ('true', train_json)):
            opts = dict(data_opts, **init, **{'train_dataloader.dataset.ann_file': ann})
            m = run_config(det_cfg, osp.join(bdir, f'det_{name}'), opts, a.threads)
            res['detector'][name] = dict(metrics={k.replace('coco/', ''): v for k, v in m['metrics'].items()},
                                         train_s=m['train_s'])
        results['backbones'][key] = res
        _write(work, results, t0)
    _write(work, results, t0)
    print(open(osp.join(work, 'results.md')).read())


def _fmt(v):
    return '-' if v is None else f'{100 * v:.1f}'


def markdown_table(results) -> str:
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
            cells = ' | '.join(_fmt(m.get(k)) for k in ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s',
                                                         'bbox_mAP_m'))
            lines.append(f"| {res['name']} | {label} | {cells} |")
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


def _write(work, results, t0):
    results['elapsed_s'] = round(time.time() - t0, 1)
    with open(osp.join(work, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    with open(osp.join(work, 'results.md'), 'w') as f:
        f.write(markdown_table(results))


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '_run':
        _run(sys.argv[2:])
    else:
        main(sys.argv[1:])
