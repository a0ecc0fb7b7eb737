"""Weakly supervised object localisation (WSOL) from class activation maps.

Pure numpy + OpenCV (imported lazily, only where contours or resizing are needed).
"""
from .boxes import box_area, box_iou, boxes_from_cam, make_thresholds, normalize_cam, prepare_cam
from .localization_metrics import (BoxAccumulator, PxAPAccumulator, best_iou_per_threshold,
                                   check_gt_boxes, pixel_counts_per_threshold, resolve_thresholds)

__all__ = [
    'normalize_cam', 'prepare_cam', 'make_thresholds', 'boxes_from_cam', 'box_iou', 'box_area',
    'resolve_thresholds', 'check_gt_boxes', 'best_iou_per_threshold', 'pixel_counts_per_threshold',
    'BoxAccumulator', 'PxAPAccumulator'
]
from .gradcam import (CAM_METHODS, CAMResult, ClassicCAM, GradCAM, GradCAMPlusPlus, LayerCAM,  # noqa: E402
                      build_cam_extractor, default_score_fn, resolve_target_layer)
from .multiscale import FUSIONS, MultiScaleCAM, fuse_cams, normalize_maps, resize_maps  # noqa: E402

__all__ += [
    'CAMResult', 'ClassicCAM', 'GradCAM', 'GradCAMPlusPlus', 'LayerCAM', 'CAM_METHODS', 'build_cam_extractor',
    'default_score_fn', 'resolve_target_layer', 'MultiScaleCAM', 'fuse_cams', 'normalize_maps', 'resize_maps',
    'FUSIONS'
]
