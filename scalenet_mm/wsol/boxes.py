"""Box extraction from class activation maps (CAMs) and inclusive-pixel box IoU.

Conventions used throughout :mod:`scalenet_mm.wsol`
---------------------------------------------------

* **Maps** are 2-D arrays ``(H, W)`` (numpy arrays, torch tensors or nested lists). NaN or
  Inf anywhere in a map raises :class:`ValueError` naming the problem.
* **Normalisation** is min-max: ``(cam - cam.min()) / (cam.max() - cam.min())``, so a
  non-constant map spans exactly ``[0, 1]`` and its maximum is 1. A *constant* map (all
  zeros, or any other constant) carries no localisation information; it normalises to all
  zeros and is flagged so that it yields **no box at any threshold** (it counts as a miss,
  never silently as a full-image box).
* **Resizing** to the evaluation size (:func:`prepare_cam`): the validated map is
  normalised, resized with OpenCV (bilinear by default) and min-max normalised again, so the
  map that is thresholded always has maximum exactly 1 (cubic interpolation can overshoot,
  and bilinear down-sampling can miss the peak; the second normalisation removes both).
* **Binarisation** at threshold ``tau`` keeps the pixels with ``cam >= tau`` (float64
  comparison on the normalised map, i.e. ``cam >= tau * max`` with ``max == 1``). The
  comparison is *inclusive*: at ``tau = 0`` every pixel of a non-constant map is kept, and a
  pixel whose normalised score equals ``tau`` exactly is foreground. (The reference code of
  Choe et al. thresholds a uint8 copy with ``cv2.THRESH_BINARY``, i.e. a strict ``>`` after
  quantisation; the difference only matters for ties.)
* **Contours** come from ``cv2.findContours(mask, mode, cv2.CHAIN_APPROX_SIMPLE)`` with
  ``mode`` = ``cv2.RETR_TREE`` (default, as in the reference protocol) or
  ``cv2.RETR_EXTERNAL``. OpenCV traces foreground regions with 8-connectivity, so diagonal
  neighbours belong to the same region. With ``RETR_TREE`` hole borders and islands inside
  holes are contours too; ``RETR_EXTERNAL`` keeps outer borders only.
* **Largest contour** = the one with the largest ``cv2.contourArea``; ties (e.g. several
  one-pixel regions, whose polygon area is 0) are broken by the larger bounding-rectangle
  area, then by OpenCV's contour order.
* **Boxes** are ``[x0, y0, x1, y1]`` in *inclusive* pixel coordinates (``x`` = column,
  ``y`` = row): a box covers columns ``x0..x1`` and rows ``y0..y1``, so its width is
  ``x1 - x0 + 1`` and a single pixel at ``(x, y)`` is ``[x, y, x, y]``.
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    'make_thresholds', 'normalize_cam', 'prepare_cam', 'boxes_from_cam', 'box_iou', 'box_area'
]

_INTERPOLATIONS = ('nearest', 'bilinear', 'bicubic', 'area')
_CONTOUR_MODES = ('tree', 'external')


def _cv2():
    """Import OpenCV lazily so that the numpy-only helpers work without it."""
    import cv2
    return cv2


def _to_numpy(x) -> np.ndarray:
    """Convert a torch tensor (any device / dtype) or an array-like to a numpy array."""
    if hasattr(x, 'detach'):  # torch.Tensor, without importing torch here
        x = x.detach().cpu()
        if x.is_floating_point() and x.element_size() < 4:  # half / bfloat16
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def make_thresholds(step: float = 0.01) -> np.ndarray:
    """The CAM threshold grid ``np.arange(0, 1, step)`` (0.01 -> 100 values, 0.001 -> 1000)."""
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


def _validate_cam(cam) -> np.ndarray:
    arr = _to_numpy(cam)
    if arr.ndim != 2:
        raise ValueError(f'a CAM must be a 2-D (H, W) map, got shape {tuple(arr.shape)}')
    if arr.size == 0:
        raise ValueError(f'a CAM must not be empty, got shape {tuple(arr.shape)}')
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        arr = arr.astype(np.float64)
    arr = arr.astype(np.float64, copy=False)
    if np.isnan(arr).any():
        raise ValueError(f'CAM contains NaN values ({int(np.isnan(arr).sum())} of {arr.size})')
    if np.isinf(arr).any():
        raise ValueError(f'CAM contains Inf values ({int(np.isinf(arr).sum())} of {arr.size})')
    return arr


def normalize_cam(cam) -> np.ndarray:
    """Min-max normalise a 2-D CAM to ``[0, 1]`` (float64).

    Args:
        cam: ``(H, W)`` map (numpy array, torch tensor or array-like).

    Returns:
        A new float64 array; its max is exactly 1 and its min exactly 0, unless ``cam`` is
        constant, in which case it is all zeros (and yields no box in :func:`boxes_from_cam`).

    Raises:
        ValueError: if ``cam`` is not 2-D, is empty, or contains NaN / Inf.
    """
    arr = _validate_cam(cam)
    lo = arr.min()
    span = arr.max() - lo
    if not span > 0:
        return np.zeros(arr.shape, dtype=np.float64)
    out = (arr - lo) / span
    # Guard against rounding: the peak must be exactly 1 and the floor exactly 0.
    np.clip(out, 0.0, 1.0, out=out)
    return out


def _interp_flag(interpolation: str) -> int:
    cv2 = _cv2()
    flags = dict(
        nearest=cv2.INTER_NEAREST,
        bilinear=cv2.INTER_LINEAR,
        bicubic=cv2.INTER_CUBIC,
        area=cv2.INTER_AREA)
    if interpolation not in flags:
        raise ValueError(f'interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}')
    return flags[interpolation]


def prepare_cam(cam,
                image_size: Optional[Sequence[int]] = None,
                interpolation: str = 'bilinear') -> np.ndarray:
    """Validate, normalise and resize a CAM to the evaluation size.

    Args:
        cam: ``(H', W')`` map at network resolution.
        image_size: ``(H, W)`` evaluation size (e.g. ``ori_shape``); ``None`` keeps
            the map's own size.
        interpolation: ``'bilinear'`` (default), ``'bicubic'``, ``'nearest'`` or ``'area'``.

    Returns:
        ``(H, W)`` float64 map with min 0 and max 1, or all zeros when the map is constant
        (before or, e.g. after down-sampling away its peak, after resizing).
    """
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f'interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}')
    norm = normalize_cam(cam)
    if image_size is None:
        return norm
    h, w = (int(s) for s in tuple(image_size)[:2])
    if h <= 0 or w <= 0:
        raise ValueError(f'image_size must be positive (H, W), got {tuple(image_size)}')
    if norm.shape == (h, w):
        return norm
    flag = _interp_flag(interpolation)
    if not norm.any():  # constant map: stays "no information" at any size
        return np.zeros((h, w), dtype=np.float64)
    resized = _cv2().resize(norm, (w, h), interpolation=flag)  # dsize is (width, height)
    return normalize_cam(resized.reshape(h, w))


def _contour_mode_flag(contour_mode: str) -> int:
    cv2 = _cv2()
    if contour_mode == 'tree':
        return cv2.RETR_TREE
    if contour_mode == 'external':
        return cv2.RETR_EXTERNAL
    raise ValueError(f'contour_mode must be one of {_CONTOUR_MODES}, got {contour_mode!r}')


_EMPTY = np.zeros((0, 4), dtype=np.int64)


def _mask_boxes(mask: np.ndarray, multi_contour: bool, mode_flag: int) -> np.ndarray:
    """Boxes of the contours of a uint8 mask; largest contour first."""
    cv2 = _cv2()
    found = cv2.findContours(mask, mode_flag, cv2.CHAIN_APPROX_SIMPLE)
    contours = found[-2]  # OpenCV 3 returns (img, contours, hierarchy), OpenCV 4 two values
    if len(contours) == 0:
        return _EMPTY.copy()
    rects = np.array([cv2.boundingRect(c) for c in contours], dtype=np.int64).reshape(-1, 4)
    areas = np.array([cv2.contourArea(c) for c in contours], dtype=np.float64)
    rect_areas = rects[:, 2] * rects[:, 3]
    # Sort by (contour area desc, bounding-rect area desc, OpenCV order asc).
    order = np.lexsort((np.arange(len(contours)), -rect_areas, -areas))
    if not multi_contour:
        order = order[:1]
    x, y, w, h = rects[order].T
    return np.stack([x, y, x + w - 1, y + h - 1], axis=1).astype(np.int64)


def _grouped_boxes(cam: np.ndarray,
                   thresholds: np.ndarray,
                   multi_contour: bool,
                   contour_mode: str) -> Tuple[List[np.ndarray], np.ndarray]:
    """Boxes for every threshold, computing each distinct binary mask only once.

    ``cam`` must already be normalised (output of :func:`normalize_cam` /
    :func:`prepare_cam`). Since the foreground sets ``{cam >= tau}`` are nested, two
    thresholds select the same mask iff they select the same number of pixels, which a single
    ``searchsorted`` on the sorted scores tells for all thresholds at once.

    Returns:
        ``(groups, index)``: ``groups`` is a list of distinct ``(K, 4)`` box arrays and
        ``index[t]`` the group of threshold ``t``, or ``-1`` when the mask is empty.
    """
    num = thresholds.size
    index = np.full(num, -1, dtype=np.int64)
    groups: List[np.ndarray] = []
    if not cam.any():  # constant map (normalised to zeros): no box at any threshold
        return groups, index
    mode_flag = _contour_mode_flag(contour_mode)
    flat = np.sort(cam, axis=None)
    counts = flat.size - np.searchsorted(flat, thresholds, side='left')  # pixels >= tau
    prev_count = -1
    for t in np.argsort(thresholds, kind='stable'):
        count = counts[t]
        if count == 0:
            continue
        if count != prev_count:
            mask = (cam >= thresholds[t]).astype(np.uint8)
            groups.append(_mask_boxes(mask, multi_contour, mode_flag))
            prev_count = count
        index[t] = len(groups) - 1
    return groups, index


def boxes_from_cam(cam,
                   thresholds,
                   multi_contour: bool = False,
                   contour_mode: str = 'tree') -> List[np.ndarray]:
    """Bounding boxes of a CAM binarised at each threshold.

    Args:
        cam: ``(H, W)`` map already at the evaluation size (see :func:`prepare_cam` to
            resize). It is min-max normalised here (idempotent for a normalised map).
        thresholds: 1-D sequence of ``tau`` values (e.g. :func:`make_thresholds`); any order.
        multi_contour: ``False`` -> at most the box of the largest contour per threshold;
            ``True`` -> the boxes of all contours, the largest contour's box first.
        contour_mode: ``'tree'`` (``cv2.RETR_TREE``) or ``'external'`` (``cv2.RETR_EXTERNAL``).

    Returns:
        A list with one ``(K, 4)`` int64 array ``[x0, y0, x1, y1]`` (inclusive pixels) per
        threshold, in the order given; ``(0, 4)`` when nothing is foreground (and for every
        threshold of a constant map).
    """
    norm = normalize_cam(cam)
    thr = _check_thresholds(thresholds)
    groups, index = _grouped_boxes(norm, thr, multi_contour, contour_mode)
    return [groups[i].copy() if i >= 0 else _EMPTY.copy() for i in index]


def box_area(boxes) -> np.ndarray:
    """Area in pixels of inclusive boxes ``(..., 4)``; 0 for inverted (empty) boxes."""
    b = np.asarray(boxes, dtype=np.float64)
    if b.shape[-1:] != (4, ):
        raise ValueError(f'boxes must have shape (..., 4), got {b.shape}')
    w = np.clip(b[..., 2] - b[..., 0] + 1, 0, None)
    h = np.clip(b[..., 3] - b[..., 1] + 1, 0, None)
    return w * h


def box_iou(a, b, pairwise: bool = True) -> Union[np.ndarray, np.float64]:
    """IoU of boxes ``[x0, y0, x1, y1]`` in inclusive pixel coordinates.

    Width is ``x1 - x0 + 1`` (height likewise); e.g. ``box_iou([1, 2, 5, 6], [3, 1, 4, 5])``
    is ``8 / 27``. Inverted boxes have area 0; an IoU with an empty union is 0.

    Args:
        a: boxes of shape ``(*A, 4)`` (a single box is ``(4,)``).
        b: boxes of shape ``(*B, 4)``.
        pairwise: ``True`` (default) -> every box of ``a`` against every box of ``b``; the
            result has shape ``(*A, *B)``: scalar for two single boxes, ``(M,)`` for a single
            box against ``(M, 4)``, the ``(N, M)`` matrix for ``(N, 4)`` x ``(M, 4)``.
            ``False`` -> element-wise, with numpy broadcasting of the leading dimensions
            (``(N, 1, 4)`` x ``(1, M, 4)`` -> ``(N, M)``; ``(N, 4)`` x ``(N, 4)`` -> ``(N,)``).

    Returns:
        float64 array (a numpy scalar when the result is 0-d).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape[-1:] != (4, ) or b.shape[-1:] != (4, ):
        raise ValueError(f'boxes must have shape (..., 4), got {a.shape} and {b.shape}')
    if pairwise:
        a = a.reshape(a.shape[:-1] + (1, ) * (b.ndim - 1) + (4, ))
    ix0 = np.maximum(a[..., 0], b[..., 0])
    iy0 = np.maximum(a[..., 1], b[..., 1])
    ix1 = np.minimum(a[..., 2], b[..., 2])
    iy1 = np.minimum(a[..., 3], b[..., 3])
    inter = np.clip(ix1 - ix0 + 1, 0, None) * np.clip(iy1 - iy0 + 1, 0, None)
    union = box_area(a) + box_area(b) - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return iou[()] if iou.ndim == 0 else iou
