"""Detection helpers: CAM pseudo-boxes for weakly supervised detection.

``import scalenet_mm.detection`` (add it to ``custom_imports``) also registers :class:`CocoImageLabels`, the
multi-label classification view of a COCO file used to train the CAM classifier.
"""
from .datasets import CocoImageLabels
from .pseudo_boxes import (
                           COCO_STAT_NAMES,
                           box_recall,
                           build_pseudo_coco,
                           cam_detections,
                           cam_to_boxes,
                           coco_bbox_eval,
                           image_level_labels,
                           xyxy_to_coco,
)

__all__ = [
    'CocoImageLabels', 'image_level_labels', 'cam_to_boxes', 'xyxy_to_coco', 'build_pseudo_coco', 'cam_detections',
    'coco_bbox_eval', 'box_recall', 'COCO_STAT_NAMES'
]
from .corloc import corloc, matched_count, pseudo_box_quality, top_boxes  # noqa: E402
from .peak_boxes import (  # noqa: E402
                           PeakBoxes,
                           image_peak_boxes,
                           peak_boxes_at_thresholds,
                           peak_detections,
                           peak_instance_boxes,
                           resolve_class_thresholds,
)
from .saliency_pseudo_boxes import saliency_boxes, saliency_pseudo_coco  # noqa: E402
from .self_training import SelfTrainingRound, detections_from_samples, read_image_labels, self_training_round  # noqa: E402
from .thresholds import (  # noqa: E402
                           SELECTION_SPLIT,
                           SelectionBoxes,
                           choose_cam_source,
                           choose_class_thresholds,
                           default_tau_grid,
                           threshold_diagnostic,
                           threshold_sweep,
)

__all__ += [
    'PeakBoxes', 'peak_instance_boxes', 'peak_boxes_at_thresholds', 'image_peak_boxes', 'peak_detections',
    'resolve_class_thresholds', 'SELECTION_SPLIT', 'SelectionBoxes', 'default_tau_grid', 'threshold_sweep',
    'choose_class_thresholds', 'choose_cam_source', 'threshold_diagnostic', 'matched_count', 'top_boxes', 'corloc',
    'pseudo_box_quality', 'SelfTrainingRound', 'detections_from_samples', 'read_image_labels', 'self_training_round',
    'saliency_boxes', 'saliency_pseudo_coco'
]
