"""Weakly supervised object localisation (WSOL) from class activation maps.

Pure numpy + OpenCV (imported lazily, only where contours or resizing are needed).
"""
from .boxes import (
                    PROTOCOLS,
                    REFERENCE_EVAL_SIZE,
                    REFERENCE_THRESHOLD_STEP,
                    box_area,
                    box_iou,
                    boxes_from_cam,
                    make_thresholds,
                    normalize_cam,
                    prepare_cam,
)
from .localization_metrics import (
                    BoxAccumulator,
                    PxAPAccumulator,
                    best_iou_per_threshold,
                    check_gt_boxes,
                    default_threshold_step,
                    image_ious,
                    pixel_counts_per_threshold,
                    resolve_thresholds,
)

__all__ = [
    'PROTOCOLS', 'REFERENCE_EVAL_SIZE', 'REFERENCE_THRESHOLD_STEP', 'normalize_cam', 'prepare_cam',
    'make_thresholds', 'boxes_from_cam', 'box_iou', 'box_area', 'resolve_thresholds', 'default_threshold_step',
    'check_gt_boxes', 'best_iou_per_threshold', 'image_ious', 'pixel_counts_per_threshold', 'BoxAccumulator',
    'PxAPAccumulator'
]
from .cams import (  # noqa: E402
                    CAM_METHODS,
                    FUSIONS,
                    GRADIENT_METHODS,
                    CAMResult,
                    ClassicCAM,
                    LibraryCAM,
                    MultiScaleCAM,
                    build_cam_extractor,
                    classifier_cams,
                    default_score_fn,
                    fuse_cams,
                    resize_maps,
                    resolve_target_layer,
)

__all__ += [
    'CAMResult', 'ClassicCAM', 'LibraryCAM', 'CAM_METHODS', 'GRADIENT_METHODS', 'build_cam_extractor',
    'classifier_cams', 'default_score_fn', 'resolve_target_layer', 'MultiScaleCAM', 'fuse_cams', 'resize_maps',
    'FUSIONS'
]
from .controls import BASELINE_CONTROLS, CONTROLS  # noqa: E402
from .gates import GateVerdict, evaluate_controls, evaluate_controls_on_cub, learnability_gate, no_learning_gate  # noqa: E402

__all__ += ['CONTROLS', 'BASELINE_CONTROLS', 'GateVerdict', 'evaluate_controls', 'evaluate_controls_on_cub',
            'no_learning_gate', 'learnability_gate']
from .multi_object_metrics import (  # noqa: E402
                    POINTING_TOLERANCE,
                    cam_mass_shares,
                    instance_recall,
                    pointing_hit,
                    resize_mask,
)

__all__ += ['POINTING_TOLERANCE', 'cam_mass_shares', 'instance_recall', 'pointing_hit', 'resize_mask']
