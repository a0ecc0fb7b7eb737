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

The classifier is an mmpretrain ``ImageClassifier`` whose head supports classic CAM (``CAMHead``, or a
(multi-label) linear head after global average pooling); its test pipeline must map the whole image (resize,
no crop). The CAM source is :func:`scalenet_mm.detection.classifier_cams`.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


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


def load_classifier(config, checkpoint, device='cpu'):
    """``(model, transforms)``: the classifier in eval mode and its test pipeline as a list of callables."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.apis import init_model
    from mmpretrain.registry import TRANSFORMS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = init_model(cfg, checkpoint, device=device)
    model.eval()
    pipeline_cfg = cfg.test_dataloader.dataset.pipeline
    transforms = [TRANSFORMS.build(t) for t in pipeline_cfg]
    return model, transforms


def iter_cams(model, transforms, images, img_dir, batch_size=32):
    """Yield ``(image_record, cams (C, h, w) numpy, scores (C,) numpy)`` for COCO image records.

    Consecutive images of equal size are batched; the CAM comes from :func:`classifier_cams`.
    """
    from mmengine.dataset import pseudo_collate

    from scalenet_mm.detection import classifier_cams

    def run(batch):
        datas = []
        for img in batch:
            d = dict(img_path=osp.join(img_dir, img['file_name']))
            for t in transforms:
                d = t(d)
            datas.append(d)
        data = model.data_preprocessor(pseudo_collate(datas), False)
        cams, scores = classifier_cams(model, data['inputs'])
        return cams.float().cpu().numpy(), scores.float().cpu().numpy()

    batch = []
    for img in images:
        if batch and (len(batch) == batch_size or (img.get('height'), img.get('width')) !=
                      (batch[0].get('height'), batch[0].get('width'))):
            cams, scores = run(batch)
            yield from zip(batch, cams, scores)
            batch = []
        batch.append(img)
    if batch:
        cams, scores = run(batch)
        yield from zip(batch, cams, scores)


def _image_size(img):
    if 'height' in img and 'width' in img:
        return int(img['height']), int(img['width'])
    raise ValueError(f'image {img["id"]} has no height/width in the annotation file')


def main(argv=None):
    args = parse_args(argv)
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    from scalenet_mm.detection import (box_recall, build_pseudo_coco, cam_detections, cam_to_boxes,
                                       coco_bbox_eval, image_level_labels)
    start = time.time()
    with open(args.ann, encoding='utf-8') as f:
        coco = json.load(f)
    category_ids = sorted(int(c['id']) for c in coco['categories'])
    index = {cid: i for i, cid in enumerate(category_ids)}
    model, transforms = load_classifier(args.config, args.checkpoint, args.device)
    num_classes = getattr(model.head, 'num_classes', None)
    if num_classes is not None and num_classes != len(category_ids):
        raise SystemExit(f'the classifier has {num_classes} classes but {args.ann} has {len(category_ids)} '
                         'categories; class index i must be the i-th category id in ascending order')
    images = sorted(coco['images'], key=lambda im: int(im['id']))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    if args.as_detections:
        results = []
        for img, cams, scores in iter_cams(model, transforms, images, args.img_dir, args.batch_size):
            results += cam_detections(img['id'], cams, scores, category_ids, _image_size(img), args.thr,
                                      args.multi_contour, args.min_area, args.score_thr, args.topk)
        with open(args.out, 'w') as f:
            json.dump(results, f)
        print(f'wrote {len(results)} CAM detections for {len(images)} images to {args.out} '
              f'({time.time() - start:.1f}s)')
        if args.eval:
            metrics = coco_bbox_eval(coco, results, verbose=True)
            with open(args.out + '.eval.json', 'w') as f:
                json.dump(metrics, f, indent=1)
            print(json.dumps(metrics))
        return
    labels = image_level_labels(coco)  # the only use of the annotation file's annotations
    boxes = {}
    for img, cams, _ in iter_cams(model, transforms, images, args.img_dir, args.batch_size):
        per_cat = {}
        for cat in labels[int(img['id'])]:
            b = cam_to_boxes(cams[index[cat]], _image_size(img), args.thr, args.multi_contour, args.min_area)
            if len(b):
                per_cat[cat] = b
        boxes[int(img['id'])] = per_cat
    mode = 'multi-contour' if args.multi_contour else 'largest contour'
    pseudo = build_pseudo_coco(coco, boxes, description=f'CAM pseudo-boxes ({mode}, tau={args.thr}) from '
                               f'{osp.basename(args.checkpoint)}')
    with open(args.out, 'w') as f:
        json.dump(pseudo, f)
    n = len(pseudo['annotations'])
    print(f'wrote {n} pseudo-boxes ({n / max(len(images), 1):.2f} per image, {mode}, tau={args.thr}) for '
          f'{len(images)} images to {args.out} ({time.time() - start:.1f}s)')
    if args.report_quality:
        recall, precision = box_recall(coco, pseudo, 0.5)
        quality = dict(num_images=len(images), num_boxes=n, num_true_boxes=len(coco.get('annotations', [])),
                       boxes_per_image=n / max(len(images), 1), recall_iou50=round(recall, 4),
                       precision_iou50=round(precision, 4))
        with open(args.out + '.quality.json', 'w') as f:
            json.dump(quality, f, indent=1)
        print(json.dumps(quality))


if __name__ == '__main__':
    main()
