"""CAM -> boxes -> COCO: pseudo ground truth for detection from image-level labels.

The functions here are framework-light (numpy + the WSOL box extraction of :mod:`scalenet_mm.wsol`) so
that the pipeline of ``tools/cam_to_coco.py`` is testable without a trained model:

* :func:`image_level_labels` reads, from a COCO annotation dict, only *which categories occur in each image*
  (the image-level labels); boxes, masks and counts are ignored.
* :func:`cam_to_boxes` turns one class activation map into boxes at the original image size (largest
  contour, or every contour above a minimum area).
* :func:`build_pseudo_coco` writes those boxes as a COCO annotation dict with the same ``images`` and
  ``categories`` as the source file.
* :func:`cam_detections` turns CAM boxes plus classifier scores into COCO *result* entries, and
  :func:`coco_bbox_eval` scores result entries against a COCO annotation file with pycocotools.
"""
import contextlib
import copy
import io
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from scalenet_mm.utils.box_geometry import box_area, box_iou, xywh_to_xyxy, xyxy_to_xywh
from scalenet_mm.wsol import boxes_from_cam, prepare_cam

__all__ = [
    'image_level_labels', 'cam_to_boxes', 'xyxy_to_coco', 'build_pseudo_coco', 'cam_detections',
    'coco_bbox_eval', 'box_recall', 'COCO_STAT_NAMES'
]

#: Names of the 12 numbers of ``COCOeval.stats`` for bounding boxes (same keys as mmdet's CocoMetric).
COCO_STAT_NAMES = ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s', 'bbox_mAP_m', 'bbox_mAP_l',
                   'AR_1', 'AR_10', 'AR_100', 'AR_s', 'AR_m', 'AR_l')


def image_level_labels(coco: Mapping) -> Dict[int, List[int]]:
    """``{image_id: sorted category ids present}`` for every image of a COCO annotation dict.

    Only the ``category_id`` and ``image_id`` of the annotations are read (crowd regions included: the
    class is present in the image). Images without annotations map to ``[]``.
    """
    labels: Dict[int, set] = {int(img['id']): set() for img in coco['images']}
    for ann in coco.get('annotations', []):
        image_id = int(ann['image_id'])
        if image_id not in labels:
            raise ValueError(f'annotation {ann.get("id")} refers to unknown image {image_id}')
        labels[image_id].add(int(ann['category_id']))
    return {k: sorted(v) for k, v in labels.items()}


def cam_to_boxes(cam: np.ndarray,
                 image_size: Sequence[int],
                 thr: float = 0.2,
                 multi_contour: bool = False,
                 min_area: float = 0.0) -> np.ndarray:
    """Boxes of one class activation map at the original image size.

    Args:
        cam: ``(h, w)`` map at network resolution (any scale; min-max normalised here).
        image_size: ``(H, W)`` of the original image; the CAM is resized bilinearly to it.
        thr: threshold tau in [0, 1] on the normalised map.
        multi_contour: ``False`` -> the box of the largest contour; ``True`` -> one box per contour.
        min_area: drop boxes with fewer pixels than this (inclusive ``w*h``); the largest box is kept
            even when it is smaller, so every present class yields a box unless the map is constant.

    Returns:
        ``(K, 4)`` float64 array of inclusive ``[x0, y0, x1, y1]`` pixel boxes, largest first.
    """
    # pseudo ground truth needs the exact inclusive extent of each region: the 'legacy' geometry (the WSOL
    # reference protocol's boxes are one pixel larger and score at 224x224, which is right for its metric only)
    norm = prepare_cam(cam, image_size, protocol='legacy')
    boxes = boxes_from_cam(norm, [thr], multi_contour=multi_contour, protocol='legacy')[0].astype(np.float64)
    if len(boxes) == 0:
        return boxes.reshape(0, 4)
    areas = box_area(boxes)
    order = np.argsort(-areas, kind='stable')
    boxes, areas = boxes[order], areas[order]
    keep = areas >= min_area
    keep[0] = True
    return boxes[keep]


def xyxy_to_coco(box: Sequence[float]) -> List[float]:
    """Inclusive ``[x0, y0, x1, y1]`` pixel box -> COCO ``[x, y, w, h]`` (``w = x1 - x0 + 1``)."""
    return [float(v) for v in xyxy_to_xywh(np.asarray(box, dtype=np.float64).reshape(4))]


def build_pseudo_coco(source: Mapping, boxes: Mapping[int, Mapping[int, np.ndarray]],
                      description: str = 'CAM pseudo-boxes') -> Dict:
    """A COCO annotation dict with the same images and categories as ``source`` and the given boxes.

    Args:
        source: the COCO annotation dict the images come from (its ``annotations`` are not copied).
        boxes: ``{image_id: {category_id: (K, 4) inclusive xyxy boxes}}``.
        description: stored in ``info.description``.
    """
    cat_ids = {int(c['id']) for c in source['categories']}
    image_ids = {int(img['id']) for img in source['images']}
    anns = []
    for image_id in sorted(boxes):
        if int(image_id) not in image_ids:
            raise ValueError(f'image {image_id} is not in the source annotation file')
        for cat_id in sorted(boxes[image_id]):
            if int(cat_id) not in cat_ids:
                raise ValueError(f'category {cat_id} is not in the source annotation file')
            for box in np.asarray(boxes[image_id][cat_id], dtype=np.float64).reshape(-1, 4):
                bbox = xyxy_to_coco(box)
                anns.append({
                    'id': len(anns) + 1,
                    'image_id': int(image_id),
                    'category_id': int(cat_id),
                    'bbox': bbox,
                    'area': bbox[2] * bbox[3],
                    'iscrowd': 0,
                })
    info = dict(copy.deepcopy(source.get('info', {})))
    info['description'] = description
    return {
        'info': info,
        'licenses': copy.deepcopy(source.get('licenses', [])),
        'images': copy.deepcopy(list(source['images'])),
        'annotations': anns,
        'categories': copy.deepcopy(list(source['categories'])),
    }


def cam_detections(image_id: int, cams: np.ndarray, scores: np.ndarray, category_ids: Sequence[int],
                   image_size: Sequence[int], thr: float = 0.2, multi_contour: bool = False,
                   min_area: float = 0.0, score_thr: float = 0.0, topk: Optional[int] = None) -> List[Dict]:
    """COCO result entries from the CAMs of one image, scored by the classifier.

    Every class whose score is at least ``score_thr`` (and among the ``topk`` best, when given) yields its
    CAM boxes (see :func:`cam_to_boxes`), each with the class score. ``cams`` is ``(C, h, w)``, ``scores``
    ``(C,)``, ``category_ids[c]`` the COCO id of class index ``c``.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind='stable')
    if topk is not None:
        order = order[:topk]
    results = []
    for c in order:
        if scores[c] < score_thr:
            break
        for box in cam_to_boxes(cams[c], image_size, thr, multi_contour, min_area):
            results.append({
                'image_id': int(image_id),
                'category_id': int(category_ids[c]),
                'bbox': xyxy_to_coco(box),
                'score': float(scores[c]),
            })
    return results


def coco_bbox_eval(gt: Mapping, results: Iterable[Mapping], verbose: bool = False) -> Dict[str, float]:
    """COCO bbox metrics of ``results`` against the annotation dict ``gt`` (pycocotools ``COCOeval``).

    Returns the 12 standard numbers keyed like mmdet's ``CocoMetric`` (``bbox_mAP``, ``bbox_mAP_50``, ...);
    all ``0.0`` when there are no results.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    results = list(results)
    if not results:
        return {k: 0.0 for k in COCO_STAT_NAMES}
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(dict(gt))
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(results))
        ev = COCOeval(coco_gt, coco_dt, 'bbox')
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    if verbose:
        print(sink.getvalue())
    return {k: round(float(v), 4) for k, v in zip(COCO_STAT_NAMES, ev.stats)}


def box_recall(gt: Mapping, pseudo: Mapping, iou_thr: float = 0.5) -> Tuple[float, float]:
    """(recall, precision) of pseudo-boxes against true boxes at an IoU threshold (same class, greedy)."""
    def by_key(doc):
        out: Dict[Tuple[int, int], List[np.ndarray]] = {}
        for a in doc['annotations']:
            box = xywh_to_xyxy(np.asarray(a['bbox'], dtype=np.float64))
            out.setdefault((int(a['image_id']), int(a['category_id'])), []).append(box)
        return out

    g, p = by_key(gt), by_key(pseudo)
    tp = 0
    for key, gboxes in g.items():
        pboxes = p.get(key)
        if not pboxes:
            continue
        iou = np.asarray(box_iou(np.asarray(pboxes), np.asarray(gboxes)), dtype=np.float64)
        free = np.ones(iou.shape[1], dtype=bool)  # each true box matches at most one pseudo-box
        for i in np.argsort(-iou.max(axis=1), kind='stable'):
            cand = np.where(free, iou[i], -1.0)
            j = int(np.argmax(cand))
            if cand[j] >= iou_thr:
                free[j] = False
                tp += 1
    n_gt = sum(len(v) for v in g.values())
    n_p = sum(len(v) for v in p.values())
    return (tp / n_gt if n_gt else 0.0, tp / n_p if n_p else 0.0)
