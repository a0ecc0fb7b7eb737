#!/usr/bin/env python
"""CAM pseudo-boxes (or CAM detections) in COCO format from a trained classifier.

Pseudo-box mode (default): for every image of ``--ann``, take its image-level labels (the categories that
occur in it -- the only information read from the annotation file; its boxes are never used), compute the
class activation map of each present class, threshold it at ``--thr`` and write the box of the largest
contour (or, with ``--multi-contour``, of every contour of at least ``--min-area`` pixels) as a COCO
annotation file with the same images and categories::

    python tools/cam_to_coco.py CLS_CONFIG CLS_CHECKPOINT --ann data/coco/annotations/instances_train2017.json \\
        --img-dir data/coco/train2017 --out pseudo_train.json [--multi-contour] [--thr 0.3]

Detection mode (``--as-detections``): the image-level labels are *not* used; every class the classifier
scores at least ``--score-thr`` yields its CAM boxes with the class score, written as a COCO *results* list
(``--eval`` scores it against ``--ann`` with pycocotools and writes ``<out>.eval.json``).
"""
import argparse
import json
import os
import os.path as osp
import time

from scalenet_mm.apis import init_model, make_cam_detections, make_pseudo_boxes
from scalenet_mm.detection import box_recall, coco_bbox_eval


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='classification config')
    p.add_argument('checkpoint', help='classification checkpoint')
    p.add_argument('--ann', required=True, help='COCO annotation file of the images (image-level labels only)')
    p.add_argument('--img-dir', required=True, help='folder of the images (file_name is relative to it)')
    p.add_argument('--out', required=True, help='output COCO annotation file (or results list)')
    p.add_argument('--thr', type=float, default=0.3, help='CAM threshold tau in [0, 1] (default 0.3)')
    p.add_argument('--multi-contour', action='store_true', help='one box per contour instead of the largest')
    p.add_argument('--min-area', type=float, default=0.0,
                   help='multi-contour: drop boxes with fewer pixels (the largest box is always kept)')
    p.add_argument('--as-detections', action='store_true',
                   help='use predicted classes and scores instead of the image-level labels; write a results list')
    p.add_argument('--score-thr', type=float, default=0.1, help='--as-detections: minimum class score')
    p.add_argument('--topk', type=int, default=None, help='--as-detections: at most this many classes per image')
    p.add_argument('--eval', action='store_true', help='--as-detections: COCO bbox mAP against --ann')
    p.add_argument('--report-quality', action='store_true',
                   help='pseudo-box mode: recall/precision of the pseudo-boxes against the true boxes of --ann '
                   '(evaluation only; they are not used to make the boxes) -> <out>.quality.json')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=None, help='torch threads')
    return p.parse_args(argv)


def _write_json(path, obj, indent=None):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=indent)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    start = time.time()
    model = init_model(args.config, args.checkpoint, device=args.device)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    common = dict(thr=args.thr, multi_contour=args.multi_contour, min_area=args.min_area,
                  batch_size=args.batch_size)
    if args.as_detections:
        results, coco = make_cam_detections(model, args.ann, args.img_dir, score_thr=args.score_thr,
                                            topk=args.topk, **common)
        _write_json(args.out, results)
        print(f'wrote {len(results)} CAM detections for {len(coco["images"])} images to {args.out} '
              f'({time.time() - start:.1f}s)')
        if args.eval:
            metrics = coco_bbox_eval(coco, results, verbose=True)
            _write_json(args.out + '.eval.json', metrics, indent=1)
            print(json.dumps(metrics))
        return
    mode = 'multi-contour' if args.multi_contour else 'largest contour'
    pseudo = make_pseudo_boxes(model, args.ann, args.img_dir, description=f'CAM pseudo-boxes ({mode}, '
                               f'tau={args.thr}) from {osp.basename(args.checkpoint)}', **common)
    _write_json(args.out, pseudo)
    n, num_images = len(pseudo['annotations']), len(pseudo['images'])
    print(f'wrote {n} pseudo-boxes ({n / max(num_images, 1):.2f} per image, {mode}, tau={args.thr}) for '
          f'{num_images} images to {args.out} ({time.time() - start:.1f}s)')
    if args.report_quality:
        with open(args.ann, encoding='utf-8') as f:
            coco = json.load(f)
        recall, precision = box_recall(coco, pseudo, 0.5)
        quality = dict(num_images=num_images, num_boxes=n, num_true_boxes=len(coco.get('annotations', [])),
                       boxes_per_image=n / max(num_images, 1), recall_iou50=round(recall, 4),
                       precision_iou50=round(precision, 4))
        _write_json(args.out + '.quality.json', quality, indent=1)
        print(json.dumps(quality))


if __name__ == '__main__':
    main()
