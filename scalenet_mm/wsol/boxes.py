"""Box extraction from class activation maps (CAMs), in two named protocols.

``protocol='reference'`` (default): the evaluation of Choe et al., "Evaluating Weakly Supervised Object
Localization Methods Right" (CVPR 2020, clovaai/wsolevaluation), reproduced bit for bit
-------------------------------------------------------------------------------------------------------

* **Preparation** (:func:`prepare_cam`): the raw CAM is converted to float64 and resized to the evaluation
  size with ``cv2.INTER_CUBIC`` (224 x 224 in the reference: :data:`REFERENCE_EVAL_SIZE`), then min-max
  normalised *once*, after the resize (:func:`scalenet_mm.utils.normalization.minmax_normalize`). A constant
  map or one with a NaN becomes all zeros (no error).
* **Binarisation** (:func:`boxes_from_cam`): the ``[0, 1]`` score map is quantised to 8 bits by truncation,
  ``u8 = (map * 255).astype(uint8)``; at threshold ``tau`` the foreground is ``u8 > int(tau * u8.max())``
  (``cv2.THRESH_BINARY`` is a strict ``>``). So at ``tau = 0`` pixels quantised to 0 are background, and an
  all-zero map has no foreground at any ``tau``.
* **Contours**: ``cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)`` (8-connected regions; with
  ``RETR_TREE`` hole borders and islands in holes are contours too). The *largest* contour is the first one,
  in OpenCV's order, with the maximal ``cv2.contourArea``; with ``multi_contour=True`` all contours count.
* **Boxes**: from ``x, y, w, h = cv2.boundingRect(contour)`` the box is ``[x, y, x + w, y + h]`` with
  ``x + w`` clipped to ``W - 1`` and ``y + h`` to ``H - 1`` (one pixel wider and taller than the contour's
  inclusive extent, except at the image border). No contour gives the box ``[0, 0, 0, 0]`` (which, as an
  inclusive box, is the top-left pixel and can overlap a GT box).

``protocol='legacy'``: the geometry scalenet_mm used before (kept for comparisons)
-----------------------------------------------------------------------------------

* NaN / Inf in a map raise :class:`ValueError`; the map is normalised, resized (bilinear by default) and
  normalised again, so its maximum is exactly 1.
* Binarisation keeps ``map >= tau`` (float64, inclusive, no quantisation); a constant map yields **no box**
  at any ``tau`` (an empty ``(0, 4)`` array, never a full-image box).
* Contours as above (``RETR_TREE`` or ``RETR_EXTERNAL``); the largest contour is the one with the largest
  ``cv2.contourArea``, ties broken by the larger bounding-rectangle area, then OpenCV's order; the
  multi-contour list is sorted largest first.
* Boxes are the contour's inclusive extent ``[x, y, x + w - 1, y + h - 1]``.

In both protocols boxes are ``[x0, y0, x1, y1]`` int64 arrays, ``x`` = column, ``y`` = row, and IoUs use the
inclusive ``+1`` widths of :mod:`scalenet_mm.utils.box_geometry`.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np

from scalenet_mm.utils.box_geometry import box_area, box_iou
from scalenet_mm.utils.normalization import minmax_normalize

__all__ = [
    'PROTOCOLS', 'REFERENCE_EVAL_SIZE', 'REFERENCE_THRESHOLD_STEP', 'check_protocol', 'default_interpolation',
    'make_thresholds', 'normalize_cam', 'prepare_cam', 'reference_cutoffs', 'box_groups', 'boxes_from_cam', 'box_iou',
    'box_area'
]

PROTOCOLS = ('reference', 'legacy')
#: the reference resizes CAMs and GT boxes to 224 x 224 (``_RESIZE_LENGTH`` of clovaai/wsolevaluation)
REFERENCE_EVAL_SIZE = (224, 224)
#: the reference's default ``cam_curve_interval`` (its CLI script uses 0.01)
REFERENCE_THRESHOLD_STEP = 0.001

_INTERPOLATIONS = ('nearest', 'bilinear', 'bicubic', 'area')
_DEFAULT_INTERPOLATION = dict(reference='bicubic', legacy='bilinear')
_CONTOUR_MODES = ('tree', 'external')


def _cv2():
    """Import OpenCV lazily so that the numpy-only helpers work without it."""
    import cv2
    return cv2


def check_protocol(protocol: str) -> str:
    """Return ``protocol`` if it is one of :data:`PROTOCOLS`, else raise a ``ValueError`` naming them."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be 'reference' (Choe et al.'s evaluation, the default) or 'legacy' "
                         f'(the previous scalenet_mm geometry), got {protocol!r}')
    return protocol


def default_interpolation(protocol: str, interpolation: Optional[str] = None) -> str:
    """``interpolation`` if given (validated), else the protocol's (``bicubic`` / ``bilinear``)."""
    check_protocol(protocol)
    interpolation = _DEFAULT_INTERPOLATION[protocol] if interpolation is None else interpolation
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f'interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}')
    return interpolation


def _to_numpy(x) -> np.ndarray:
    """Convert a torch tensor (any device / dtype) or an array-like to a numpy array."""
    if hasattr(x, 'detach'):  # torch.Tensor, without importing torch here
        x = x.detach().cpu()
        if x.is_floating_point() and x.element_size() < 4:  # half / bfloat16
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def make_thresholds(step: float = 0.01) -> np.ndarray:
    """The CAM threshold grid ``np.arange(0, 1, step)`` (0.01 -> 100 values, 0.001 -> 1000), as the reference
    builds it (``list(np.arange(0, 1, cam_curve_interval))``)."""
    step = float(step)
    if not (np.isfinite(step) and 0 < step < 1):
        raise ValueError(f'threshold step must be in (0, 1), got {step}')
    return np.arange(0, 1, step, dtype=np.float64)


def _check_thresholds(thresholds) -> np.ndarray:
    thr = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if thr.size == 0:
        raise ValueError('thresholds must not be empty')
    if not np.all(np.isfinite(thr)):
        raise ValueError('thresholds contain NaN or Inf')
    return thr


def _validate_cam(cam, allow_non_finite: bool = False) -> np.ndarray:
    arr = _to_numpy(cam)
    if arr.ndim != 2:
        raise ValueError(f'a CAM must be a 2-D (H, W) map, got shape {tuple(arr.shape)}')
    if arr.size == 0:
        raise ValueError(f'a CAM must not be empty, got shape {tuple(arr.shape)}')
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        arr = arr.astype(np.float64)
    arr = arr.astype(np.float64, copy=False)
    if not allow_non_finite:
        if np.isnan(arr).any():
            raise ValueError(f'CAM contains NaN values ({int(np.isnan(arr).sum())} of {arr.size})')
        if np.isinf(arr).any():
            raise ValueError(f'CAM contains Inf values ({int(np.isinf(arr).sum())} of {arr.size})')
    return arr


def normalize_cam(cam, protocol: str = 'reference') -> np.ndarray:
    """Min-max normalise a 2-D CAM to ``[0, 1]`` (float64) with
    :func:`~scalenet_mm.utils.normalization.minmax_normalize`.

    Args:
        cam: ``(H, W)`` map (numpy array, torch tensor or array-like).
        protocol: ``'reference'`` -> a constant map or one with NaN / Inf becomes all zeros (the reference's
            ``normalize_scoremap``); ``'legacy'`` -> NaN / Inf raise ``ValueError``, a constant map is zeros.

    Raises:
        ValueError: if ``cam`` is not 2-D or is empty (and, ``legacy``, on NaN / Inf).
    """
    check_protocol(protocol)
    return minmax_normalize(_validate_cam(cam, allow_non_finite=protocol == 'reference'))


def _interp_flag(interpolation: str) -> int:
    cv2 = _cv2()
    return dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR, bicubic=cv2.INTER_CUBIC,
                area=cv2.INTER_AREA)[interpolation]


def _target_size(image_size: Sequence[int]) -> Tuple[int, int]:
    h, w = (int(s) for s in tuple(image_size)[:2])
    if h <= 0 or w <= 0:
        raise ValueError(f'image_size must be positive (H, W), got {tuple(image_size)}')
    return h, w


def prepare_cam(cam,
                image_size: Optional[Sequence[int]] = None,
                interpolation: Optional[str] = None,
                protocol: str = 'reference') -> np.ndarray:
    """Validate, resize and normalise a CAM to the evaluation size.

    Args:
        cam: ``(H', W')`` map at network resolution (raw scores are fine).
        image_size: ``(H, W)`` evaluation size (e.g. :data:`REFERENCE_EVAL_SIZE`, or ``ori_shape``); ``None``
            keeps the map's own size.
        interpolation: ``'bicubic'``, ``'bilinear'``, ``'nearest'`` or ``'area'``; ``None`` -> the protocol's
            (``'bicubic'`` = ``cv2.INTER_CUBIC`` for ``reference``, ``'bilinear'`` for ``legacy``).
        protocol: ``'reference'`` -> float64 resize, then one min-max normalisation (constant / NaN maps
            -> zeros); ``'legacy'`` -> normalise, resize, normalise again (NaN / Inf raise).

    Returns:
        ``(H, W)`` float64 map with min 0 and max 1, or all zeros for an uninformative map.
    """
    check_protocol(protocol)
    flag = _interp_flag(default_interpolation(protocol, interpolation))
    if protocol == 'reference':
        arr = _validate_cam(cam, allow_non_finite=True)
        if image_size is not None:
            h, w = _target_size(image_size)
            if arr.shape != (h, w):
                arr = _cv2().resize(arr, (w, h), interpolation=flag).reshape(h, w)  # dsize is (W, H)
        return minmax_normalize(arr)
    norm = normalize_cam(cam, protocol='legacy')
    if image_size is None:
        return norm
    h, w = _target_size(image_size)
    if norm.shape == (h, w):
        return norm
    if not norm.any():  # constant map: stays "no information" at any size
        return np.zeros((h, w), dtype=np.float64)
    resized = _cv2().resize(norm, (w, h), interpolation=flag)
    return minmax_normalize(resized.reshape(h, w))


def _contour_mode_flag(contour_mode: str) -> int:
    cv2 = _cv2()
    if contour_mode == 'tree':
        return cv2.RETR_TREE
    if contour_mode == 'external':
        return cv2.RETR_EXTERNAL
    raise ValueError(f'contour_mode must be one of {_CONTOUR_MODES}, got {contour_mode!r}')


_EMPTY = np.zeros((0, 4), dtype=np.int64)
_NO_CONTOUR_BOX = np.zeros((1, 4), dtype=np.int64)  # the reference's [0, 0, 0, 0]


def _contours(mask: np.ndarray, mode_flag: int):
    cv2 = _cv2()
    found = cv2.findContours(mask, mode_flag, cv2.CHAIN_APPROX_SIMPLE)
    return found[-2]  # OpenCV 3 returns (img, contours, hierarchy), OpenCV 4 (contours, hierarchy)


def _legacy_mask_boxes(mask: np.ndarray, mode_flag: int) -> np.ndarray:
    """Inclusive boxes of every contour of a uint8 mask, largest contour first."""
    cv2 = _cv2()
    contours = _contours(mask, mode_flag)
    if len(contours) == 0:
        return _EMPTY.copy()
    rects = np.array([cv2.boundingRect(c) for c in contours], dtype=np.int64).reshape(-1, 4)
    areas = np.array([cv2.contourArea(c) for c in contours], dtype=np.float64)
    rect_areas = rects[:, 2] * rects[:, 3]
    # Sort by (contour area desc, bounding-rect area desc, OpenCV order asc).
    order = np.lexsort((np.arange(len(contours)), -rect_areas, -areas))
    x, y, w, h = rects[order].T
    return np.stack([x, y, x + w - 1, y + h - 1], axis=1).astype(np.int64)


def _reference_mask_boxes(mask: np.ndarray, mode_flag: int) -> Tuple[np.ndarray, int]:
    """Reference boxes ``[x, y, min(x + w, W - 1), min(y + h, H - 1)]`` of every contour in OpenCV's order and
    the position of the largest contour (first maximal ``contourArea``); ``[[0, 0, 0, 0]]`` without contour."""
    cv2 = _cv2()
    contours = _contours(mask, mode_flag)
    if len(contours) == 0:
        return _NO_CONTOUR_BOX.copy(), 0
    height, width = mask.shape
    rects = np.array([cv2.boundingRect(c) for c in contours], dtype=np.int64).reshape(-1, 4)
    largest = int(np.argmax([cv2.contourArea(c) for c in contours]))  # first maximum, as Python's max()
    x, y, w, h = rects.T
    boxes = np.stack([x, y, np.minimum(x + w, width - 1), np.minimum(y + h, height - 1)], axis=1)
    return boxes.astype(np.int64), largest


def _legacy_groups(cam: np.ndarray, thresholds: np.ndarray,
                   contour_mode: str) -> Tuple[List[np.ndarray], List[int], np.ndarray]:
    """Legacy boxes for every threshold, computing each distinct mask ``cam >= tau`` once.

    The foreground sets are nested, so two thresholds give the same mask iff they keep the same number of
    pixels, which one ``searchsorted`` on the sorted scores tells for all thresholds at once.
    """
    index = np.full(thresholds.size, -1, dtype=np.int64)
    groups: List[np.ndarray] = []
    if not cam.any():  # constant map (normalised to zeros): no box at any threshold
        return groups, [], index
    mode_flag = _contour_mode_flag(contour_mode)
    flat = np.sort(cam, axis=None)
    counts = flat.size - np.searchsorted(flat, thresholds, side='left')  # pixels >= tau
    prev_count = -1
    for t in np.argsort(thresholds, kind='stable'):
        if counts[t] == 0:
            continue
        if counts[t] != prev_count:
            groups.append(_legacy_mask_boxes((cam >= thresholds[t]).astype(np.uint8), mode_flag))
            prev_count = counts[t]
        index[t] = len(groups) - 1
    return groups, [0] * len(groups), index


def reference_cutoffs(score_map: np.ndarray, thresholds: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The reference's 8-bit map ``(score_map * 255).astype(uint8)`` and, per threshold, the integer cut-off
    ``int(tau * u8.max())`` (a pixel is foreground when ``u8 > cut-off``)."""
    u8 = (score_map * 255).astype(np.uint8)
    cutoffs = np.trunc(thresholds * float(u8.max()))  # int() truncates toward zero
    return u8, cutoffs


def _reference_groups(score_map: np.ndarray, thresholds: np.ndarray,
                      contour_mode: str) -> Tuple[List[np.ndarray], List[int], np.ndarray]:
    """Reference boxes for every threshold; each distinct foreground ``u8 > cut-off`` is traced once (at most
    256 of them, whatever the grid), an empty foreground is the ``[0, 0, 0, 0]`` group."""
    mode_flag = _contour_mode_flag(contour_mode)
    u8, cutoffs = reference_cutoffs(score_map, thresholds)
    hist = np.bincount(u8.ravel(), minlength=256)
    not_above = np.concatenate([[0], np.cumsum(hist)])  # not_above[c + 1] = pixels with u8 <= c
    counts = u8.size - not_above[np.clip(cutoffs, -1, 255).astype(np.int64) + 1]  # pixels with u8 > cut-off
    index = np.empty(thresholds.size, dtype=np.int64)
    groups: List[np.ndarray] = []
    largest: List[int] = []
    group_of_count = {}
    for t in np.argsort(-counts, kind='stable'):
        count = int(counts[t])
        if count not in group_of_count:
            if count == 0:
                boxes, big = _NO_CONTOUR_BOX.copy(), 0
            else:
                boxes, big = _reference_mask_boxes((u8 > cutoffs[t]).astype(np.uint8), mode_flag)
            group_of_count[count] = len(groups)
            groups.append(boxes)
            largest.append(big)
        index[t] = group_of_count[count]
    return groups, largest, index


def _check_score_map(cam) -> np.ndarray:
    """The reference's score-map validity check: 2-D, no NaN, values in ``[0, 1]``."""
    arr = _validate_cam(cam, allow_non_finite=True)
    if np.isnan(arr).any():
        raise ValueError('score map contains NaN values: prepare it with prepare_cam(), which turns a NaN map '
                         'into zeros as the reference does')
    if arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"boxes_from_cam(protocol='reference') takes a score map in [0, 1] (e.g. from "
                         f'prepare_cam()), got values in [{arr.min()}, {arr.max()}]')
    return arr


def box_groups(cam, thresholds, contour_mode: str = 'tree',
               protocol: str = 'reference') -> Tuple[List[np.ndarray], List[int], np.ndarray]:
    """All-contour boxes per distinct mask, for callers that need both the largest and all boxes.

    Returns:
        ``(groups, largest, index)``: ``groups[g]`` is a ``(K, 4)`` int64 box array, ``groups[g][largest[g]]``
        the largest contour's box, and ``index[t]`` the group of threshold ``t`` (``-1``: no box, legacy only).
    """
    check_protocol(protocol)
    thr = _check_thresholds(thresholds)
    if protocol == 'reference':
        return _reference_groups(_check_score_map(cam), thr, contour_mode)
    return _legacy_groups(normalize_cam(cam, protocol='legacy'), thr, contour_mode)


def boxes_from_cam(cam,
                   thresholds,
                   multi_contour: bool = False,
                   contour_mode: str = 'tree',
                   protocol: str = 'reference') -> List[np.ndarray]:
    """Bounding boxes of a CAM binarised at each threshold.

    Args:
        cam: ``(H, W)`` map already at the evaluation size (see :func:`prepare_cam`). ``reference``: a score
            map in ``[0, 1]``, used as is (NaN or values outside ``[0, 1]`` raise ``ValueError``, as in the
            reference); ``legacy``: any finite map, min-max normalised here.
        thresholds: 1-D sequence of ``tau`` values (e.g. :func:`make_thresholds`); any order.
        multi_contour: ``False`` -> the box of the largest contour; ``True`` -> the boxes of all contours
            (``reference``: in OpenCV's contour order; ``legacy``: largest first).
        contour_mode: ``'tree'`` (``cv2.RETR_TREE``, the reference's) or ``'external'`` (``RETR_EXTERNAL``).
        protocol: ``'reference'`` (default) or ``'legacy'``; see the module docstring.

    Returns:
        One ``(K, 4)`` int64 array ``[x0, y0, x1, y1]`` per threshold, in the order given. ``reference``:
        ``[[0, 0, 0, 0]]`` when nothing is foreground; ``legacy``: ``(0, 4)`` then (and for every threshold
        of a constant map).
    """
    groups, largest, index = box_groups(cam, thresholds, contour_mode, protocol)
    out = []
    for g in index:
        if g < 0:
            out.append(_EMPTY.copy())
        elif multi_contour:
            out.append(groups[g].copy())
        else:
            out.append(groups[g][largest[g]:largest[g] + 1].copy())
    return out
