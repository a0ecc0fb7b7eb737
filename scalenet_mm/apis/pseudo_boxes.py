"""CAM boxes of a multi-label classifier over a COCO file: pseudo ground truth (from image-level labels only)
or class-scored detections."""
import json
import os.path as osp
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch.nn as nn

from .cams import build_cam_dataloader, iter_cams

#: What mmpretrain's ``PackInputs`` keeps by default; the COCO image id is added to it.
PACKED_META_KEYS = ('sample_idx', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip', 'flip_direction')

__all__ = ['iter_coco_cams', 'make_pseudo_boxes', 'make_cam_detections', 'check_class_count']


def _load_coco(ann_file: str) -> dict:
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'COCO annotation file {ann_file} does not exist')
    with open(ann_file, encoding='utf-8') as f:
        return json.load(f)


def check_class_count(model: nn.Module, coco: dict, ann_file: str) -> List[int]:
    """The sorted category ids of ``coco``, after checking that the classifier has one class per category."""
    category_ids = sorted(int(c['id']) for c in coco['categories'])
    num_classes = getattr(model.head, 'num_classes', None)
    if num_classes is not None and num_classes != len(category_ids):
        raise ValueError(f'the classifier has {num_classes} classes but {ann_file} has {len(category_ids)} '
                         'categories; class index i must be the i-th category id in ascending order')
    return category_ids


def iter_coco_cams(model: nn.Module, ann_file: str, img_dir: str,
                   batch_size: int = 32) -> Iterator[Tuple[int, Tuple[int, int], np.ndarray, np.ndarray]]:
    """Yield ``(image_id, (H, W), cams (C, h, w), scores (C,))`` for every image of a COCO file, in id order.

    The images go through the classifier's own test pipeline (``CocoImageLabels`` reads only which classes
    occur; the classic CAMs of all classes come from :func:`scalenet_mm.wsol.classifier_cams`).
    """
    from scalenet_mm.wsol import classifier_cams
    test_dataset = (model.cfg.get('test_dataloader') or model.cfg.val_dataloader).dataset
    pipeline = [dict(step, meta_keys=tuple(step.get('meta_keys', PACKED_META_KEYS)) + ('img_id', ))
                if step.get('type') == 'PackInputs' else step for step in test_dataset.pipeline]
    dataset = dict(type='CocoImageLabels', data_root='', ann_file=osp.abspath(ann_file),
                   data_prefix=osp.abspath(img_dir), test_mode=True, pipeline=pipeline)
    loader = build_cam_dataloader(model.cfg, dataset, batch_size=batch_size, with_boxes=False)
    for samples, (cams, scores) in iter_cams(model, loader, lambda x, _: classifier_cams(model, x)):
        cams, scores = cams.float().cpu().numpy(), scores.float().cpu().numpy()
        for s, cam, score in zip(samples, cams, scores):
            yield int(s.img_id), tuple(int(v) for v in s.ori_shape), cam, score


def make_pseudo_boxes(model: nn.Module, ann_file: str, img_dir: str, thr: float = 0.3,
                      multi_contour: bool = False, min_area: float = 0.0, batch_size: int = 32,
                      description: Optional[str] = None) -> Dict:
    """A COCO annotation dict of CAM pseudo-boxes for the images of ``ann_file``: for each image, the CAM of
    every class it is labelled with (the image-level labels are the only thing read from the annotations)
    thresholded at ``thr`` -> the box of the largest contour, or one box per contour with ``multi_contour``."""
    from scalenet_mm.detection import build_pseudo_coco, cam_to_boxes, image_level_labels
    coco = _load_coco(ann_file)
    index = {cid: i for i, cid in enumerate(check_class_count(model, coco, ann_file))}
    labels = image_level_labels(coco)
    boxes: Dict[int, Dict[int, np.ndarray]] = {}
    for image_id, size, cams, _ in iter_coco_cams(model, ann_file, img_dir, batch_size):
        per_class = {}
        for cat in labels[image_id]:
            found = cam_to_boxes(cams[index[cat]], size, thr, multi_contour, min_area)
            if len(found):
                per_class[cat] = found
        boxes[image_id] = per_class
    mode = 'multi-contour' if multi_contour else 'largest contour'
    return build_pseudo_coco(coco, boxes, description=description or f'CAM pseudo-boxes ({mode}, tau={thr})')


def make_cam_detections(model: nn.Module, ann_file: str, img_dir: str, thr: float = 0.3,
                        multi_contour: bool = False, min_area: float = 0.0, score_thr: float = 0.1,
                        topk: Optional[int] = None, batch_size: int = 32) -> Tuple[List[dict], dict]:
    """``(COCO results list, annotation dict)``: every class scored at least ``score_thr`` yields its CAM
    boxes with the class score; the image-level labels are not used."""
    from scalenet_mm.detection import cam_detections
    coco = _load_coco(ann_file)
    category_ids = check_class_count(model, coco, ann_file)
    results: List[dict] = []
    for image_id, size, cams, scores in iter_coco_cams(model, ann_file, img_dir, batch_size):
        results += cam_detections(image_id, cams, scores, category_ids, size, thr, multi_contour, min_area,
                                  score_thr, topk)
    return results, coco
