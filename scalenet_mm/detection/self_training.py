"""One self-training round: a detector's confident detections become the next round's pseudo-annotations.

The round sees **image-level labels only**: which classes occur in each training image (read with
:func:`~scalenet_mm.detection.image_level_labels`, which ignores boxes). Given the detector's detections on the
training images and the previous round's pseudo-annotations (round 0: the CAM pseudo-boxes), it keeps:

1. only detections of classes the image is labelled with (all others are dropped: the labels say the class is
   absent);
2. among those, per ``(image, class)`` pair, the detections with ``score >= score_thr`` (one value or one per
   class), at most ``topk_per_class`` of them (highest scores first);
3. a labelled pair left without any box falls back to the previous round's pseudo-boxes of that pair, or, when
   the previous round had none, to the pair's single best detection below the threshold
   (``fallback_to_best``). Only a pair that neither round boxed stays empty, and is counted as ``missing``.

Boxes stay in the COCO ``[x, y, w, h]`` convention of the detector's results (mmdet's ``CocoMetric``:
``w = x2 - x1``), so a box round-trips unchanged through mmdet's ``CocoDataset`` (``x2 = x + w``); they pass
through :func:`build_pseudo_coco` as the inclusive boxes that write back the same ``[x, y, w, h]``.
"""
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from scalenet_mm.utils.box_geometry import xywh_to_xyxy, xyxy_to_xywh

from .pseudo_boxes import build_pseudo_coco, image_level_labels

__all__ = ['SelfTrainingRound', 'detections_from_samples', 'read_image_labels', 'self_training_round']

Pair = Tuple[int, int]


class SelfTrainingRound(NamedTuple):
    """``coco``: the new pseudo-annotation dict; ``stats``: where its boxes came from (counts)."""
    coco: Dict
    stats: Dict[str, int]


def detections_from_samples(samples: Sequence, category_ids: Sequence[int]) -> List[Dict]:
    """COCO result entries from mmdet ``DetDataSample``s (``pred_instances`` in original-image pixels, as
    ``Runner.test`` / ``model.test_step`` return them); label ``i`` is category ``category_ids[i]``."""
    category_ids = [int(c) for c in category_ids]
    results = []
    for sample in samples:
        if 'img_id' not in sample.metainfo:
            raise ValueError('a DetDataSample has no img_id in its metainfo; run the detector on a CocoDataset')
        pred = sample.pred_instances
        bboxes = xyxy_to_xywh(pred.bboxes.detach().cpu().double().numpy().reshape(-1, 4), inclusive=False)
        for bbox, score, label in zip(bboxes.tolist(), pred.scores.detach().cpu().tolist(),
                                      pred.labels.cpu().tolist()):
            if not 0 <= int(label) < len(category_ids):
                raise ValueError(f'detection label {label} is out of range for {len(category_ids)} categories')
            results.append(dict(image_id=int(sample.metainfo['img_id']), category_id=category_ids[int(label)],
                                bbox=bbox, score=float(score)))
    return results


def read_image_labels(labels: Union[str, Mapping]) -> Dict[int, List[int]]:
    """``{image_id: sorted category ids}`` from a COCO file / dict (only its categories per image are read) or
    from such a mapping itself."""
    if isinstance(labels, str):
        from mmengine.fileio import load
        labels = load(labels)
    if 'images' in labels:
        return image_level_labels(labels)
    return {int(k): sorted(int(c) for c in v) for k, v in labels.items()}


def _class_thresholds(score_thr: Union[float, Mapping[int, float]], category_ids: Sequence[int]) -> Dict[int, float]:
    if isinstance(score_thr, Mapping):
        thr = {int(k): float(v) for k, v in score_thr.items()}
        missing = sorted(set(int(c) for c in category_ids) - set(thr))
        if missing:
            raise ValueError(f'score_thr has no value for categories {missing}; give one per class or one float')
        return thr
    return {int(c): float(score_thr) for c in category_ids}


def self_training_round(detections: Union[Sequence[Mapping], Sequence],
                        image_labels: Union[str, Mapping],
                        previous: Mapping,
                        score_thr: Union[float, Mapping[int, float]] = 0.5,
                        topk_per_class: Optional[int] = None,
                        fallback_to_best: bool = True,
                        category_ids: Optional[Sequence[int]] = None,
                        description: str = 'self-training pseudo-boxes') -> SelfTrainingRound:
    """The next round's pseudo-annotations (see the module docstring for the rule).

    Args:
        detections: the detector's detections on the training images: a COCO results list (``image_id``,
            ``category_id``, ``bbox``, ``score``) or mmdet ``DetDataSample``s (then ``category_ids`` is needed).
        image_labels: the image-level labels: a COCO annotation file or dict (only which categories occur in
            each image is read; its boxes, present or not, are ignored) or ``{image_id: [category_id, ...]}``.
        previous: the previous round's pseudo-annotation COCO dict (its images and categories are kept).
        score_thr: minimum detection score, one value or ``{category_id: value}``.
        topk_per_class: keep at most this many detections per ``(image, class)`` (``None``: no limit).
        fallback_to_best: when neither a confident detection nor a previous box exists for a labelled pair,
            keep its best detection at any score.
        category_ids: category id of each detector label, for ``DetDataSample`` input.
        description: ``info.description`` of the new dict.
    """
    if topk_per_class is not None and int(topk_per_class) < 1:
        raise ValueError(f'topk_per_class must be >= 1 or None, got {topk_per_class}')
    detections = list(detections)
    if detections and not isinstance(detections[0], Mapping):
        if category_ids is None:
            raise ValueError('DetDataSample detections need category_ids (the category id of every label index)')
        detections = detections_from_samples(detections, category_ids)
    labels = read_image_labels(image_labels)
    image_ids = {int(img['id']) for img in previous['images']}
    if set(labels) != image_ids:
        diff = sorted(set(labels) ^ image_ids)
        raise ValueError(f'the image-level labels and the previous pseudo-annotations cover different images '
                         f'(e.g. {diff[:5]}); both must describe the same training images')
    thresholds = _class_thresholds(score_thr, [c['id'] for c in previous['categories']])

    by_pair: Dict[Pair, List[Mapping]] = {}
    stats = dict(pairs=0, from_detections=0, from_previous=0, from_best_detection=0, missing=0, boxes=0,
                 dropped_unlabelled=0, dropped_low_score=0, dropped_topk=0)
    for det in detections:
        image_id, cat = int(det['image_id']), int(det['category_id'])
        if image_id not in labels:
            raise ValueError(f'a detection refers to image {image_id}, which is not a training image')
        if cat not in labels[image_id]:
            stats['dropped_unlabelled'] += 1
            continue
        by_pair.setdefault((image_id, cat), []).append(det)
    previous_boxes: Dict[Pair, List[List[float]]] = {}
    for ann in previous.get('annotations', []):
        previous_boxes.setdefault((int(ann['image_id']), int(ann['category_id'])), []).append(ann['bbox'])

    boxes: Dict[int, Dict[int, np.ndarray]] = {}
    for image_id in sorted(labels):
        for cat in labels[image_id]:
            stats['pairs'] += 1
            dets = sorted(by_pair.get((image_id, cat), []), key=lambda d: -float(d['score']))
            kept = [d['bbox'] for d in dets if float(d['score']) >= thresholds[cat]]
            stats['dropped_low_score'] += len(dets) - len(kept)
            if topk_per_class is not None:
                stats['dropped_topk'] += max(0, len(kept) - int(topk_per_class))
                kept = kept[:int(topk_per_class)]
            if kept:
                stats['from_detections'] += 1
            elif (image_id, cat) in previous_boxes:
                kept = previous_boxes[(image_id, cat)]
                stats['from_previous'] += 1
            elif fallback_to_best and dets:
                kept = [dets[0]['bbox']]
                stats['from_best_detection'] += 1
                stats['dropped_low_score'] -= 1
            else:
                stats['missing'] += 1
                continue
            boxes.setdefault(image_id, {})[cat] = xywh_to_xyxy(np.asarray(kept, dtype=np.float64).reshape(-1, 4))
            stats['boxes'] += len(kept)
    return SelfTrainingRound(build_pseudo_coco(previous, boxes, description=description), stats)
