"""CAM measures of the multi-object images: pointing game, class specificity and instance recall.

The paper claims that CAMs of different classes in one image do not interfere and that separate instances stay
separate (Sec. IV-G, Fig. 8). Box accuracy cannot show either, so issue #12 asks for three image-level measures,
each computed on the objects' masks (the visible pixels the generator paints), not their boxes:

* **pointing game** (Zhang et al., "Top-down neural attention by excitation backprop", 2016): a hit when the
  maximum of the class's map lies on the object, with a tolerance of 15 pixels at the evaluation size;
* **class specificity**: the share of a class's CAM mass inside its own object and inside the other labelled
  object of the image (Fig. 8's "the CAM of one class does not light up the other");
* **instance recall**: with two instances of a class, the share of instances that hold a peak of the map. The
  peaks come from the caller (``scalenet_mm.detection.peak_instance_boxes(...).peaks``), so that this module
  keeps one peak rule, the detection one, and stays free of detection imports.

Maps are prepared as in the box metrics (:func:`~scalenet_mm.wsol.boxes.prepare_cam`, reference protocol:
cubic resize to the evaluation size, then one min-max normalisation; a constant map is all zeros and points
nowhere). Written here because pytorch-grad-cam and the reference evaluator only score boxes and pixels.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from .boxes import REFERENCE_EVAL_SIZE, prepare_cam

__all__ = ['POINTING_TOLERANCE', 'resize_mask', 'pointing_hit', 'cam_mass_shares', 'instance_recall']

#: The pointing game's tolerance in pixels at the evaluation size (Zhang et al. use 15 px on the original image).
POINTING_TOLERANCE = 15.0


def _check_mask(mask) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f'an object mask must be a non-empty 2-D (H, W) array, got shape {arr.shape}')
    return arr.astype(bool)


def resize_mask(mask, size: Sequence[int]) -> np.ndarray:
    """Resize a boolean ``(H, W)`` mask to ``size`` = ``(H', W')`` with ``cv2.INTER_NEAREST``, as
    :class:`~scalenet_mm.evaluation.WSOLMetric` resizes the GT masks of PxAP."""
    import cv2

    arr = _check_mask(mask)
    h, w = (int(s) for s in size)
    if arr.shape == (h, w):
        return arr
    return cv2.resize(arr.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def pointing_hit(cam, mask, tolerance: float = POINTING_TOLERANCE,
                 eval_size: Optional[Sequence[int]] = REFERENCE_EVAL_SIZE) -> bool:
    """Whether the maximum of ``cam`` lies within ``tolerance`` pixels (Euclidean, at ``eval_size``) of the
    object ``mask``. Ties go to the first maximum in raster order; a constant map (no maximum) misses.
    ``eval_size=None`` evaluates at the mask's own size."""
    from scipy.ndimage import distance_transform_edt

    if tolerance < 0:
        raise ValueError(f'tolerance must be >= 0 pixels, got {tolerance}')
    target = _check_mask(mask)
    size = tuple(eval_size) if eval_size is not None else target.shape
    target = resize_mask(target, size)
    if not target.any():
        raise ValueError('the object mask is empty: an object with no visible pixel cannot be pointed at')
    norm = prepare_cam(cam, size, protocol='reference')
    if not norm.any():
        return False
    row, col = np.unravel_index(int(np.argmax(norm)), norm.shape)
    return bool(distance_transform_edt(~target)[row, col] <= tolerance)


def cam_mass_shares(cam, masks: Sequence, eval_size: Optional[Sequence[int]] = REFERENCE_EVAL_SIZE) -> np.ndarray:
    """``(len(masks),)`` share of the map's total mass (after normalisation) inside each object mask; masks may
    overlap, so the shares need not sum to at most 1. A constant map has no mass: all shares are 0."""
    if len(masks) == 0:
        raise ValueError('cam_mass_shares needs at least one object mask')
    checked = [_check_mask(m) for m in masks]
    size = tuple(eval_size) if eval_size is not None else checked[0].shape
    norm = prepare_cam(cam, size, protocol='reference')
    total = norm.sum()
    if total <= 0:
        return np.zeros(len(checked))
    return np.array([norm[resize_mask(m, size)].sum() / total for m in checked])


def instance_recall(peaks, masks: Sequence, peak_size: Optional[Sequence[int]] = None) -> Tuple[int, int]:
    """``(recalled, total)`` instances: an instance is recalled when a peak lies on its mask; each peak recalls
    at most one instance (peaks in order, strongest first; a peak on overlapping masks takes the first instance
    not yet recalled). ``peaks``: ``(K, 2)`` ``(row, col)`` in the pixel grid of ``peak_size`` (``None``: the
    masks' own size), as :func:`scalenet_mm.detection.peak_instance_boxes` returns them."""
    if len(masks) == 0:
        raise ValueError('instance_recall needs at least one instance mask')
    checked = [_check_mask(m) for m in masks]
    size = tuple(peak_size) if peak_size is not None else checked[0].shape
    grid = [resize_mask(m, size) for m in checked]
    pts = np.asarray(peaks, dtype=np.int64).reshape(-1, 2)
    if len(pts) and ((pts < 0).any() or (pts[:, 0] >= size[0]).any() or (pts[:, 1] >= size[1]).any()):
        raise ValueError(f'peaks must lie inside the {size[0]}x{size[1]} grid they were found in, got {pts.tolist()}')
    recalled = np.zeros(len(grid), bool)
    for row, col in pts:
        for i, m in enumerate(grid):
            if not recalled[i] and m[row, col]:
                recalled[i] = True
                break
    return int(recalled.sum()), len(grid)
