"""Detection helpers: CAM pseudo-boxes for weakly supervised detection.

``import scalenet_mm.detection`` (add it to ``custom_imports``) also registers :class:`CocoImageLabels`, the
multi-label classification view of a COCO file used to train the CAM classifier.
"""
from .cam_source import classifier_cams
from .datasets import CocoImageLabels
from .pseudo_boxes import (COCO_STAT_NAMES, box_recall, build_pseudo_coco, cam_detections, cam_to_boxes,
                           coco_bbox_eval, image_level_labels, xyxy_to_coco)

__all__ = [
    'CocoImageLabels', 'classifier_cams', 'image_level_labels', 'cam_to_boxes', 'xyxy_to_coco',
    'build_pseudo_coco', 'cam_detections', 'coco_bbox_eval', 'box_recall', 'COCO_STAT_NAMES'
]
