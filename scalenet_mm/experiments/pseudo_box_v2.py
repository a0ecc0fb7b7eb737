"""Detection without boxes on the multi-object benchmark v2 (issue #13, ``tools/pseudo_box_v2.py``,
``docs/detection_pseudo_boxes.md``).

For each backbone of :data:`BACKBONES` (ScaleNet ``tiny-d2d3`` and ResNet-18 at the same 1.1 M parameters) and
each seed, with one Faster R-CNN + FPN config, schedule and backbone init (the backbone's own CAM classifier):

1. a **multi-label CAM classifier** on image-level labels, validated (mAP) on the selection split as it trains;
2. **per-class thresholds** chosen on the box-labelled selection split (:class:`~scalenet_mm.detection.
   SelectionBoxes`: the only boxes the weak pipeline reads) for **peak boxes** (local maxima, each normalised on
   its own: two objects of one class both get a box, :func:`~scalenet_mm.detection.image_peak_boxes`);
3. round 0: pseudo-boxes for the training images from the CAMs of the classes each image is labelled with; the
   detector trained on them; the diagnostic of where recall is lost (pseudo-box recall at the chosen tau vs at
   the per-image best tau, :func:`~scalenet_mm.detection.threshold_diagnostic`, measured on the train boxes);
4. rounds 1..R of **self-training**: the detector's own confident detections of the labelled classes become the
   next round's pseudo-boxes (:func:`~scalenet_mm.detection.self_training_round`), a detector is retrained on them
   from the classifier init;
5. the **no-learning control**: boxes of the saliency map (among the benchmark's controls, the one that scores
   best on the selection split, thresholds chosen there too), labelled with the image-level classes, through
   the same detector;
6. the **upper bound**: the same detector on the true training boxes.

Steps 3, 5 and 6 need only the classifier: they run before the rounds of step 4 (side by side with ``jobs``), so
a run cut short already holds the round-0 ratio and the control.

Every detector is tested once on the test split's true boxes (mmdet ``CocoMetric``, pycocotools: AP, AP50,
per-class AP); pseudo-box precision / recall / CorLoc are measured against the true training boxes (measuring
only). Every training / detection step runs in its own process (:func:`scalenet_mm.apis.isolated.run_isolated`);
each result is stored in ``<out>/results.json`` at once, and a rerun skips what is stored.
"""
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from scalenet_mm.engine.atomic_io import atomic_write_text
from scalenet_mm.evaluation import rounded_ci95

from .results_store import ResultsStore, repo_path

__all__ = ['BACKBONES', 'FULL', 'QUICK', 'run_experiment', 'classifier_diagnostic', 'summary_json', 'markdown_tables']

_CONFIGS = 'configs/detection/bench_v2'
#: name -> (classifier config, detector config), relative to the repository root.
BACKBONES = {
    'ScaleNet': (f'{_CONFIGS}/cls_scalenet-tiny-d2d3_bench-v2-multilabel.py',
                 f'{_CONFIGS}/faster-rcnn_scalenet-tiny-d2d3_fpn_bench-v2.py'),
    'ResNet-18': (f'{_CONFIGS}/cls_r18-20-s8_bench-v2-multilabel.py', f'{_CONFIGS}/faster-rcnn_r18-20_fpn_bench-v2.py'),
}
#: Self-training: detections kept as pseudo-boxes from this score, at most this many per (image, class).
SELF_TRAINING = dict(score_thr=0.5, topk_per_class=4)

FULL = dict(num_train=3000, num_test=600, num_selection=100, cls_epochs=12, det_epochs=12, rounds=2, seeds=(0, 1, 2))
QUICK = dict(num_train=40, num_test=20, num_selection=15, cls_epochs=1, det_epochs=1, rounds=1, seeds=(0, ))


def _load(path: str) -> Dict:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _write(path: str, doc) -> str:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    atomic_write_text(path, json.dumps(doc))
    return path


def _cams(model, ann_file: str, img_dir: str) -> Dict[int, Dict]:
    """``{image_id: dict(size, cams (C, h, w), scores (C,))}`` of the classifier's classic CAMs (sigmoid scores)."""
    from scalenet_mm.apis import iter_coco_cams
    out = {}
    for image_id, size, cams, scores in iter_coco_cams(model, ann_file, img_dir):
        out[image_id] = dict(size=size, cams=cams, scores=scores)
    return out


def _peak_pseudo_coco(source: Dict, cams: Dict[int, Dict], category_ids: List[int], taus: Dict[int, float],
                      description: str) -> Dict:
    """Pseudo-boxes of the labelled classes of every image (image-level labels only) from peak boxes."""
    from scalenet_mm.detection import build_pseudo_coco, image_level_labels, image_peak_boxes
    labels = image_level_labels(source)
    boxes = {}
    for image_id, entry in cams.items():
        per_class = image_peak_boxes(entry['cams'], category_ids, entry['size'], taus, classes=labels[image_id],
                                     scores=entry['scores'])
        boxes[image_id] = {cat: found.boxes for cat, found in per_class.items() if len(found.boxes)}
    return build_pseudo_coco(source, boxes, description=description)


def _quality(gt: Dict, pseudo: Dict) -> Dict:
    from scalenet_mm.detection import pseudo_box_quality
    q = pseudo_box_quality(gt, pseudo)
    return {k: (round(100.0 * v, 2) if k in ('recall', 'precision', 'corloc') else v) for k, v in q.items()}


def _cam_pseudo_boxes(train_gt: Dict, train_cams: Dict[int, Dict], category_ids: List[int], taus: Dict[int, float],
                      path: str) -> Dict:
    """Round 0's pseudo-boxes written to ``path``, their quality against the true training boxes and the
    chosen-vs-best tau diagnostic (both measuring only)."""
    from scalenet_mm.detection import threshold_diagnostic
    _write(path, _peak_pseudo_coco(train_gt, train_cams, category_ids, taus,
                                   'CAM peak pseudo-boxes, per-class tau from the selection split'))
    diag = threshold_diagnostic(train_gt, {i: e['cams'] for i, e in train_cams.items()}, category_ids, taus)
    return dict(pseudo=_quality(train_gt, _load(path)), diagnostic={
        k: (round(100.0 * v, 2) if k.startswith('recall') else v) for k, v in diag.items() if k != 'per_class'})


def _benchmark(data_root: str, num_train: int, num_test: int, num_selection: int) -> Dict:
    """The multi-object benchmark v2 under ``<data_root>/v2`` (generated once; the generator skips a folder that
    already holds the same parameters): its COCO root, summary, the annotation file / image folder per split and
    the ``cfg_options`` that point a config's dataloaders at it."""
    from scalenet_mm.datasets import generate_dataset
    root = osp.abspath(osp.join(data_root, 'v2'))
    summary = generate_dataset(root, num_train=num_train, num_test=num_test, image_size=64, multi_object=True,
                               seed=0, layouts=('coco', ), variant='v2', num_selection=num_selection, progress=False)
    coco = osp.join(root, 'coco')
    splits = ('train', 'val', 'selection')
    return dict(coco=coco, summary=summary,
                cfg_options={f'{s}_dataloader.dataset.data_root': coco + '/' for s in ('train', 'val', 'test')},
                ann={s: osp.join(coco, 'annotations', f'instances_{s}2017.json') for s in splits},
                img={s: osp.join(coco, f'{s}2017') for s in splits})


def classifier_diagnostic(config: str, checkpoint: str, data_root: str = 'data/pseudo_box_v2',
                          num_train: int = FULL['num_train'], num_test: int = FULL['num_test'],
                          num_selection: int = FULL['num_selection'], out: Optional[str] = None) -> Dict:
    """Round 0's pseudo-boxes of any multi-label CAM classifier, without a detector: per-class thresholds from the
    selection split, pseudo-box precision / recall / CorLoc and the recall at the chosen vs the per-image best tau
    on the training boxes. Why: one detector costs about 40 minutes on 2 cores, this a few, so a change of the
    classifier (schedule, pooling) is judged by the boxes it would hand the detector before one is trained.
    ``out``: where the pseudo-box file goes (default next to the checkpoint). The selection-split mAP curve of the
    training run that wrote the checkpoint is included when its logs sit beside it (the plateau check)."""
    from scalenet_mm.apis import init_model, read_training_curves
    from scalenet_mm.detection import SelectionBoxes, choose_class_thresholds
    data = _benchmark(data_root, num_train, num_test, num_selection)
    model = init_model(config, checkpoint, cfg_options=data['cfg_options'])
    train_gt = _load(data['ann']['train'])
    category_ids = sorted(int(c['id']) for c in train_gt['categories'])
    selection_cams = _cams(model, data['ann']['selection'], data['img']['selection'])
    taus = choose_class_thresholds(SelectionBoxes.from_coco(data['ann']['selection']),
                                   {i: e['cams'] for i, e in selection_cams.items()}, category_ids)
    work_dir = osp.dirname(osp.abspath(checkpoint))
    result = _cam_pseudo_boxes(train_gt, _cams(model, data['ann']['train'], data['img']['train']), category_ids,
                               taus, out or osp.join(work_dir, 'pseudo_round0.json'))
    curve = read_training_curves(work_dir, 'multi-label/mAP')
    return dict(result, config=config, checkpoint=checkpoint, thresholds={str(k): v for k, v in taus.items()},
                selection_mAP=curve['val_top1'], selection_mAP_epoch=curve['val_epoch'])


def _detector_metrics(metrics: Dict, classes: Sequence[str]) -> Dict:
    """AP, AP50 and per-class AP (x100) from mmdet's CocoMetric keys."""
    out = dict(AP=round(100.0 * metrics['coco/bbox_mAP'], 2), AP50=round(100.0 * metrics['coco/bbox_mAP_50'], 2))
    out['per_class_AP'] = {c: round(100.0 * metrics[f'coco/{c}_precision'], 2) for c in classes
                           if f'coco/{c}_precision' in metrics}
    return out


def run_experiment(out: str = 'work_dirs/pseudo_box_v2', data_root: str = 'data/pseudo_box_v2',
                   num_train: int = FULL['num_train'], num_test: int = FULL['num_test'],
                   num_selection: int = FULL['num_selection'], cls_epochs: int = FULL['cls_epochs'],
                   det_epochs: int = FULL['det_epochs'], rounds: int = FULL['rounds'],
                   seeds: Sequence[int] = FULL['seeds'], backbones: Sequence[str] = tuple(BACKBONES),
                   threads: int = 2, jobs: int = 1, log: Callable = print) -> Dict:
    """Run (or continue) the comparison of the module docstring; returns the stored results. ``jobs``: how many
    independent detector trainings run at once, sharing the ``threads``."""
    from scalenet_mm.apis import init_model
    from scalenet_mm.apis.isolated import run_isolated
    from scalenet_mm.datasets.localization_benchmark import SHAPE_CLASSES
    from scalenet_mm.detection import (
        SelectionBoxes,
        choose_cam_source,
        choose_class_thresholds,
        read_image_labels,
        saliency_pseudo_coco,
        self_training_round,
    )
    from scalenet_mm.wsol.controls import BASELINE_CONTROLS, CONTROLS

    unknown = [b for b in backbones if b not in BACKBONES]
    if unknown:
        raise ValueError(f'unknown backbones {unknown}; choose from {list(BACKBONES)}')
    settings = dict(num_train=num_train, num_test=num_test, num_selection=num_selection, cls_epochs=cls_epochs,
                    det_epochs=det_epochs, rounds=rounds, seeds=[int(s) for s in seeds], backbones=list(backbones),
                    self_training=SELF_TRAINING)
    out = osp.abspath(out)
    store = ResultsStore(osp.join(out, 'results.json'), settings, log=log, tag='pseudo_box_v2')
    data = _benchmark(data_root, num_train, num_test, num_selection)
    coco, ann, img = data['coco'], data['ann'], data['img']
    store.step(['dataset'], lambda: dict(root=coco, splits=data['summary']['splits']))
    train_gt = _load(ann['train'])
    category_ids = sorted(int(c['id']) for c in train_gt['categories'])
    selection = SelectionBoxes.from_coco(ann['selection'])
    data_opts = data['cfg_options']
    det_eval = {f'{s}_evaluator.ann_file': ann['val'] for s in ('val', 'test')}

    def detector(name, seed, tag, train_ann, cls_ckpt):
        det_dir = osp.join(out, name.lower().replace('-', ''), f'seed{seed}', f'det_{tag}')
        opts = dict(data_opts, **det_eval, **{
            'model.backbone.init_cfg': dict(_delete_=True, type='Pretrained', checkpoint=cls_ckpt, prefix='backbone.'),
            'train_dataloader.dataset.ann_file': train_ann, 'train_cfg.max_epochs': det_epochs,
            'train_cfg.val_interval': det_epochs, 'randomness.seed': seed,
            'param_scheduler.1.T_max': det_epochs, 'param_scheduler.1.end': det_epochs,
            'resume': True})  # a training killed mid-way continues from its last (or preemption) checkpoint
        res = run_isolated('train_and_test', dict(config=repo_path(BACKBONES[name][1]), work_dir=det_dir,
                                                  cfg_options=opts), osp.join(det_dir, 'run.log'),
                           max(1, threads // jobs))
        return dict(_detector_metrics(res['metrics'], SHAPE_CLASSES), train_s=res['train_s'],
                    checkpoint=osp.join(det_dir, f'epoch_{det_epochs}.pth'))

    # the no-learning control's map and thresholds, chosen on the selection split (no training involved)
    def control_choice():
        import mmcv
        images = {int(i['id']): mmcv.imread(osp.join(img['selection'], i['file_name']), channel_order='rgb')
                  for i in _load(ann['selection'])['images']}
        maps = {name: {i: np.repeat(np.asarray(fn(image))[None], len(category_ids), 0) for i, image in images.items()}
                for name, fn in CONTROLS.items() if name not in BASELINE_CONTROLS}  # priors have nothing to box
        best, scores = choose_cam_source(selection, maps, category_ids)
        taus = choose_class_thresholds(selection, maps[best], category_ids)
        return dict(control=best, selection_f1=scores, thr=float(np.median(list(taus.values()))))

    control = store.step(['control_choice'], control_choice)

    for seed in settings['seeds']:
        for name in backbones:
            key = [name, str(seed)]
            work = osp.join(out, name.lower().replace('-', ''), f'seed{seed}')
            cls_dir = osp.join(work, 'classifier')
            cls_cfg = repo_path(BACKBONES[name][0])

            def train_classifier():
                from scalenet_mm.apis import read_training_curves
                opts = dict(data_opts, **{'train_cfg.max_epochs': cls_epochs,
                                          'train_cfg.val_interval': max(1, cls_epochs // 4),
                                          'param_scheduler.0.end': cls_epochs, 'randomness.seed': seed,
                                          'resume': True})
                res = run_isolated('train_and_test', dict(config=cls_cfg, work_dir=cls_dir, cfg_options=opts,
                                                          validate=True), osp.join(cls_dir, 'run.log'), threads)
                curve = read_training_curves(cls_dir, 'multi-label/mAP')
                return dict(checkpoint=osp.join(cls_dir, f'epoch_{cls_epochs}.pth'), train_s=res['train_s'],
                            test_mAP=round(res['metrics'].get('multi-label/mAP', float('nan')), 2),
                            selection_mAP=curve['val_top1'], selection_mAP_epoch=curve['val_epoch'])

            cls = store.step(key + ['classifier'], train_classifier)
            cams = {}

            def cams_of(split, cls=cls, cls_cfg=cls_cfg, cams=cams):
                if split not in cams:  # one classifier, loaded on first use; each split's CAMs computed once
                    cams['model'] = cams.get('model') or init_model(cls_cfg, cls['checkpoint'], cfg_options=data_opts)
                    cams[split] = _cams(cams['model'], ann[split], img[split])
                return cams[split]

            taus = store.step(key + ['thresholds'], lambda: {str(k): v for k, v in choose_class_thresholds(
                selection, {i: e['cams'] for i, e in cams_of('selection').items()}, category_ids).items()})
            taus = {int(k): v for k, v in taus.items()}
            pseudo0 = osp.join(work, 'pseudo_round0.json')

            def round0():
                boxes = _cam_pseudo_boxes(train_gt, cams_of('train'), category_ids, taus, pseudo0)
                return dict(boxes, detector=detector(name, seed, 'round0', pseudo0, cls['checkpoint']))

            def control_run():
                path = osp.join(work, 'pseudo_control.json')
                _write(path, saliency_pseudo_coco(ann['train'], img['train'], CONTROLS[control['control']],
                                                  thr=control['thr']))
                return dict(pseudo=_quality(train_gt, _load(path)),
                            detector=detector(name, seed, 'control', path, cls['checkpoint']))

            # round 0, the bound and the control need only the classifier: they run side by side (``jobs``) and
            # before the refinement rounds, so a run cut short already holds the round-0 ratio and the control
            previous = store.step_all([
                (key + ['rounds', '0'], round0),
                (key + ['supervised'], lambda: dict(
                    detector=detector(name, seed, 'supervised', ann['train'], cls['checkpoint']))),
                (key + ['control'], control_run)], jobs)[0]
            previous_file = pseudo0
            for r in range(1, rounds + 1):
                pseudo_r = osp.join(work, f'pseudo_round{r}.json')

                def next_round(previous=previous, previous_file=previous_file, r=r, pseudo_r=pseudo_r):
                    dets = osp.join(work, f'detections_train_round{r - 1}.json')
                    run_isolated('detect', dict(config=repo_path(BACKBONES[name][1]),
                                                checkpoint=previous['detector']['checkpoint'],
                                                ann_file=previous_file, img_dir=img['train'], out=dets),
                                 osp.join(work, f'detect_round{r - 1}.log'), threads)
                    new = self_training_round(_load(dets), read_image_labels(ann['train']), _load(previous_file),
                                              description=f'self-training round {r}', **SELF_TRAINING)
                    _write(pseudo_r, new.coco)
                    return dict(pseudo=_quality(train_gt, new.coco), stats=new.stats,
                                detector=detector(name, seed, f'round{r}', pseudo_r, cls['checkpoint']))

                previous = store.step(key + ['rounds', str(r)], next_round)
                previous_file = pseudo_r

    summary_path = _write(osp.join(out, 'summary.json'), summary_json(store.data))
    log(f'[pseudo_box_v2] results in {store.path}, summary in {summary_path}')
    return store.data


def _ci(values: List[float]) -> Optional[Dict]:
    return rounded_ci95(values) if values else None


def summary_json(results: Dict) -> Dict:
    """``docs/detection_pseudo_boxes.json``: per backbone ``supervised_ap50``, ``weak_ap50`` (one per round),
    ``control_ap50`` and ``weak_to_supervised_ap50`` (final round; ``_by_round``: every round, so that a run cut
    short reports the rounds it finished), each ``{mean, ci95, n}`` over seeds."""
    s = results['settings']
    out = dict(settings=s, backbones={})
    for name in s['backbones']:
        per_seed = [results[name][str(seed)] for seed in s['seeds'] if str(seed) in results.get(name, {})]
        bounded = [r for r in per_seed if 'supervised' in r]
        rounds = range(s['rounds'] + 1)
        weak = [_ci([r['rounds'][str(k)]['detector']['AP50'] for r in per_seed if str(k) in r.get('rounds', {})])
                for k in rounds]

        def ratios(k):
            return [r['rounds'][str(k)]['detector']['AP50'] / r['supervised']['detector']['AP50'] for r in bounded
                    if str(k) in r.get('rounds', {}) and r['supervised']['detector']['AP50'] > 0]

        ratio_by_round = [_ci(ratios(k)) for k in rounds]

        out['backbones'][name] = dict(
            supervised_ap50=_ci([r['supervised']['detector']['AP50'] for r in bounded]), weak_ap50=weak,
            control_ap50=_ci([r['control']['detector']['AP50'] for r in per_seed if 'control' in r]),
            weak_to_supervised_ap50=ratio_by_round[-1], weak_to_supervised_ap50_by_round=ratio_by_round,
            classifier_test_mAP=_ci([r['classifier']['test_mAP'] for r in per_seed if 'classifier' in r]))
    return out


def _fmt(ci: Optional[Dict], digits: int = 1) -> str:
    if not ci:
        return '-'
    return f"{ci['mean']:.{digits}f}" + ('' if ci['ci95'] is None else f" ± {ci['ci95']:.{digits}f}")


def markdown_tables(results: Dict) -> str:
    """The tables of ``docs/detection_pseudo_boxes.md`` from the stored results."""
    s = results['settings']
    summary = summary_json(results)
    control = results.get('control_choice', {})
    lines = [f"Multi-object benchmark v2: {s['num_train']} train / {s['num_selection']} selection / {s['num_test']} "
             f"test images (64x64, 5 shape classes, 1-4 objects), classifiers {s['cls_epochs']} epochs, detectors "
             f"{s['det_epochs']} epochs, {s['rounds']} self-training round(s), seeds {s['seeds']}. No-learning "
             f"control: the `{control.get('control')}` map (best on the selection split), tau {control.get('thr')}.",
             '', '| backbone | classifier test mAP | supervised AP50 | ' +
             ' | '.join(f'weak AP50 round {k}' for k in range(s['rounds'] + 1)) +
             ' | control AP50 | weak / supervised AP50, rounds ' + ' / '.join(map(str, range(s['rounds'] + 1))) +
             ' |', '|---|' + '---:|' * (s['rounds'] + 5)]
    for name, row in summary['backbones'].items():
        lines.append(f"| {name} | {_fmt(row['classifier_test_mAP'])} | {_fmt(row['supervised_ap50'])} | " +
                     ' | '.join(_fmt(w) for w in row['weak_ap50']) +
                     f" | {_fmt(row['control_ap50'])} | " +
                     ' / '.join(_fmt(w, digits=2) for w in row['weak_to_supervised_ap50_by_round']) + ' |')
    lines += ['', 'Classifiers (mAP on the selection split at the validation epochs: the plateau check; test mAP):', '',
              '| backbone | seed | selection mAP by epoch | test mAP |', '|---|---|---|---:|']
    for name in s['backbones']:
        for seed, res in results.get(name, {}).items():
            c = res.get('classifier')
            if c:
                curve = ', '.join(f'{e}: {v:.1f}' for e, v in zip(c['selection_mAP_epoch'], c['selection_mAP']))
                lines.append(f"| {name} | {seed} | {curve} | {c['test_mAP']:.1f} |")
    lines += ['', 'Per seed: pseudo-boxes against the true training boxes (precision / recall at IoU 0.5, CorLoc) '
              'and the detector on the test split (AP, AP50):', '',
              '| backbone | seed | boxes | pseudo P / R / CorLoc | recall at chosen / best tau | detector AP / AP50 |',
              '|---|---|---|---|---|---|']
    for name in s['backbones']:
        for seed, res in results.get(name, {}).items():
            entries = [(f'round {k}', v) for k, v in sorted(res.get('rounds', {}).items(), key=lambda kv: int(kv[0]))]
            entries += [(k, res[k]) for k in ('control', 'supervised') if k in res]
            for label, entry in entries:
                q, d, diag = entry.get('pseudo'), entry['detector'], entry.get('diagnostic')
                pq = f"{q['precision']:.1f} / {q['recall']:.1f} / {q['corloc']:.1f}" if q else 'true boxes'
                dg = f"{diag['recall_at_chosen']:.1f} / {diag['recall_at_best']:.1f}" if diag else '-'
                lines.append(f"| {name} | {seed} | {label} | {pq} | {dg} | {d['AP']:.1f} / {d['AP50']:.1f} |")
    return '\n'.join(lines)
