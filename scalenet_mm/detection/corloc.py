"""Localisation quality of pseudo-boxes and detections against true boxes: CorLoc and precision / recall.

* **CorLoc** (Deselaers et al.): the share of *labelled* ``(image, class)`` pairs (the class occurs in the
  image) whose top-scoring box of that class has IoU >= 0.5 with some true box of that class. A pair without
  any box counts as a miss, so CorLoc cannot be raised by boxing fewer classes.
* **Precision / recall @ IoU**: :func:`~scalenet_mm.detection.box_recall` (one-to-one greedy matching per
  ``(image, class)``); :func:`pseudo_box_quality` only packages it with CorLoc.

Every box matching goes through :func:`~scalenet_mm.detection.box_recall`, so all numbers of the pipeline use
one IoU convention (inclusive pixels, COCO ``[x, y, w, h]`` with ``x1 = x + w - 1``).
"""
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple, Union

from .pseudo_boxes import box_recall, image_level_labels

__all__ = ['matched_count', 'top_boxes', 'corloc', 'pseudo_box_quality']

Pair = Tuple[int, int]


def _pair_doc(image_id: int, category_id: int, bboxes: Sequence[Sequence[float]]) -> Dict:
    return {'annotations': [dict(image_id=image_id, category_id=category_id, bbox=list(b)) for b in bboxes]}


def matched_count(true_bboxes: Sequence[Sequence[float]], pred_bboxes: Sequence[Sequence[float]],
                  iou_thr: float = 0.5) -> int:
    """How many true boxes of one ``(image, class)`` pair the predicted boxes match one-to-one at ``iou_thr``.

    Both are lists of COCO ``[x, y, w, h]`` boxes; the matching is :func:`box_recall`'s.
    """
    if len(true_bboxes) == 0 or len(pred_bboxes) == 0:
        return 0
    recall, _ = box_recall(_pair_doc(0, 0, true_bboxes), _pair_doc(0, 0, pred_bboxes), iou_thr)
    return int(round(recall * len(true_bboxes)))


def _entries(boxes: Union[Mapping, Iterable[Mapping]]) -> List[Mapping]:
    """Annotation entries of a COCO dict, or the entries of a COCO results list."""
    if isinstance(boxes, Mapping):
        if 'annotations' not in boxes:
            raise ValueError('expected a COCO annotation dict (with "annotations") or a list of COCO results')
        return list(boxes['annotations'])
    return list(boxes)


def top_boxes(boxes: Union[Mapping, Iterable[Mapping]]) -> Dict[Pair, List[float]]:
    """``{(image_id, category_id): bbox}`` of the top box of every pair.

    ``boxes`` is a COCO results list or annotation dict; the top box is the one with the highest ``score``
    (ties and entries without a score: the first in file order, so an unscored pseudo-annotation file's top box
    is its first box of the pair).
    """
    best: Dict[Pair, Tuple[float, List[float]]] = {}
    for entry in _entries(boxes):
        key = (int(entry['image_id']), int(entry['category_id']))
        score = float(entry.get('score', 0.0))
        if key not in best or score > best[key][0]:
            best[key] = (score, list(entry['bbox']))
    return {k: v[1] for k, v in best.items()}


def _true_boxes(gt: Mapping) -> Dict[Pair, List[List[float]]]:
    out: Dict[Pair, List[List[float]]] = {}
    for ann in gt['annotations']:
        out.setdefault((int(ann['image_id']), int(ann['category_id'])), []).append(list(ann['bbox']))
    return out


def _check_images(gt: Mapping, entries: Iterable[Mapping]) -> None:
    known = {int(img['id']) for img in gt['images']}
    unknown = sorted({int(e['image_id']) for e in entries} - known)
    if unknown:
        raise ValueError(f'boxes refer to images {unknown[:5]}{"..." if len(unknown) > 5 else ""} that are not in '
                         'the true annotation file; evaluate against the file of the same split')


def corloc(gt: Mapping, boxes: Union[Mapping, Iterable[Mapping]], iou_thr: float = 0.5,
           per_class: bool = False) -> Union[float, Tuple[float, Dict[int, float]]]:
    """CorLoc of ``boxes`` (COCO results list or annotation dict) against the true COCO dict ``gt``.

    Returns the share of labelled pairs hit (0.0 when ``gt`` labels nothing), and with ``per_class`` also
    ``{category_id: CorLoc}`` over the classes that occur in ``gt``.
    """
    entries = _entries(boxes)
    _check_images(gt, entries)
    tops = top_boxes(entries)
    truth = _true_boxes(gt)
    hits: Dict[int, List[int]] = {}
    for image_id, cats in image_level_labels(gt).items():
        for cat in cats:
            top = tops.get((image_id, cat))
            hit = top is not None and matched_count(truth[(image_id, cat)], [top], iou_thr) == 1
            hits.setdefault(cat, []).append(int(hit))
    n_pairs = sum(len(v) for v in hits.values())
    overall = sum(sum(v) for v in hits.values()) / n_pairs if n_pairs else 0.0
    if not per_class:
        return overall
    return overall, {cat: sum(v) / len(v) for cat, v in sorted(hits.items())}


def pseudo_box_quality(gt: Mapping, pseudo: Union[Mapping, Iterable[Mapping]], iou_thr: float = 0.5) -> Dict:
    """``{'recall', 'precision', 'corloc', 'num_true', 'num_pseudo'}`` of pseudo-boxes (or detections) against
    the true boxes of the same images (recall / precision: :func:`box_recall`)."""
    entries = _entries(pseudo)
    _check_images(gt, entries)
    recall, precision = box_recall(gt, {'annotations': entries}, iou_thr)
    return dict(recall=recall, precision=precision, corloc=corloc(gt, entries, iou_thr),
                num_true=len(gt['annotations']), num_pseudo=len(entries))
