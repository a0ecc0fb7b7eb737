"""Axis-aligned box geometry: the one implementation of box area, IoU, format conversion, resizing and clipping.

Conventions
-----------
* Boxes are ``[x0, y0, x1, y1]`` (``x`` = column, ``y`` = row) in arrays of shape ``(..., 4)``.
* ``inclusive=True`` (default) is the pixel convention of the reference WSOL evaluation (Choe et al.,
  CVPR 2020) and of the scalenet_mm data sets: a box covers columns ``x0..x1``, so its width is
  ``x1 - x0 + 1`` and a single pixel is ``[x, y, x, y]`` (area 1). ``inclusive=False`` is the continuous /
  mmdet convention: width ``x1 - x0`` (a point has area 0).
* Inverted boxes (``x1 < x0`` beyond the convention's empty width) have area 0; an IoU whose union is not
  positive is 0 (the reference's "degenerate" rule).
* Image sizes are ``(H, W)``, as everywhere in scalenet_mm (OpenCV's ``dsize`` and the reference's
  ``resize_bbox`` take ``(W, H)``; the conversion happens here, once).
* numpy arrays, array-likes and torch tensors are accepted; a torch input gives a torch output (float64 for
  areas / IoUs / resized boxes, on the first tensor input's device), a numpy input a numpy output.
"""
from typing import Sequence, Tuple

import numpy as np

__all__ = [
    'box_area', 'box_iou', 'xyxy_to_xywh', 'xywh_to_xyxy', 'resize_boxes', 'clip_boxes', 'check_xyxy',
    'RESIZE_METHODS'
]

RESIZE_METHODS = ('truncate', 'extent', 'scale')


def _as_numpy(boxes, name: str = 'boxes') -> np.ndarray:
    if hasattr(boxes, 'tensor') and not hasattr(boxes, 'detach'):  # mmdet BaseBoxes
        boxes = boxes.tensor
    if hasattr(boxes, 'detach'):
        boxes = boxes.detach().cpu().double().numpy()
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.shape[-1:] != (4, ):
        raise ValueError(f'{name} must have shape (..., 4) as [x0, y0, x1, y1], got shape {arr.shape}')
    return arr


def _torch_like(*inputs):
    """The first torch tensor among ``inputs`` (to restore the output type), else ``None``."""
    for x in inputs:
        if hasattr(x, 'detach') and hasattr(x, 'device'):
            return x
    return None


def _restore(result: np.ndarray, like):
    if like is None:
        return result
    import torch
    return torch.as_tensor(np.ascontiguousarray(result), device=like.device)


def _offset(inclusive: bool) -> float:
    return 1.0 if inclusive else 0.0


def _area(b: np.ndarray, inclusive: bool) -> np.ndarray:
    one = _offset(inclusive)
    w = np.clip(b[..., 2] - b[..., 0] + one, 0, None)
    h = np.clip(b[..., 3] - b[..., 1] + one, 0, None)
    return w * h


def box_area(boxes, inclusive: bool = True):
    """Area of ``(..., 4)`` boxes: ``(x1 - x0 + 1) * (y1 - y0 + 1)`` (``inclusive``) or without the ``+1``;
    0 for inverted boxes. Returns float64 of shape ``(...)``."""
    return _restore(_area(_as_numpy(boxes), inclusive), _torch_like(boxes))


def box_iou(a, b, pairwise: bool = True, inclusive: bool = True):
    """Intersection over union of boxes.

    With ``inclusive=True`` the widths carry the ``+1`` of pixel boxes, e.g.
    ``box_iou([1, 2, 5, 6], [3, 1, 4, 5]) == 8 / 27`` (the reference's hand-checked case).

    Args:
        a: boxes ``(*A, 4)`` (one box is ``(4,)``).
        b: boxes ``(*B, 4)``.
        pairwise: ``True`` -> every box of ``a`` against every box of ``b``, result ``(*A, *B)`` (a scalar for
            two single boxes, ``(N, M)`` for ``(N, 4)`` x ``(M, 4)``). ``False`` -> element-wise with numpy
            broadcasting of the leading dimensions (``(N, 4)`` x ``(N, 4)`` -> ``(N,)``).
        inclusive: pixel convention (see the module docstring).

    Returns:
        float64 IoUs (a numpy scalar for a 0-d numpy result); 0 where the union is not positive.
    """
    like = _torch_like(a, b)
    a = _as_numpy(a, 'a')
    b = _as_numpy(b, 'b')
    if pairwise:
        a = a.reshape(a.shape[:-1] + (1, ) * (b.ndim - 1) + (4, ))
    one = _offset(inclusive)
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + one, 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + one, 0, None)
    inter = iw * ih
    union = _area(a, inclusive) + _area(b, inclusive) - inter
    positive = union > 0
    iou = np.where(positive, inter / np.where(positive, union, 1.0), 0.0)
    if like is not None:
        return _restore(np.asarray(iou), like)
    return iou[()] if iou.ndim == 0 else iou


def xyxy_to_xywh(boxes, inclusive: bool = True):
    """``[x0, y0, x1, y1]`` -> COCO ``[x, y, w, h]`` with ``w = x1 - x0 + 1`` (``inclusive``) or ``x1 - x0``."""
    b = _as_numpy(boxes).copy()
    b[..., 2:] = b[..., 2:] - b[..., :2] + _offset(inclusive)
    return _restore(b, _torch_like(boxes))


def xywh_to_xyxy(boxes, inclusive: bool = True):
    """COCO ``[x, y, w, h]`` -> ``[x0, y0, x1, y1]`` with ``x1 = x + w - 1`` (``inclusive``) or ``x + w``."""
    b = _as_numpy(boxes).copy()
    b[..., 2:] = b[..., :2] + b[..., 2:] - _offset(inclusive)
    return _restore(b, _torch_like(boxes))


def _size(size: Sequence[int], name: str) -> Tuple[float, float]:
    vals = tuple(size)[:2]
    if len(vals) != 2 or not all(np.isfinite(v) and v > 0 for v in vals):
        raise ValueError(f'{name} must be a positive (H, W), got {tuple(size)}')
    return float(vals[0]), float(vals[1])


def resize_boxes(boxes, src_size: Sequence[int], dst_size: Sequence[int], method: str = 'truncate'):
    """Map boxes from an image of size ``src_size`` to the same image resized to ``dst_size`` (both ``(H, W)``).

    Args:
        boxes: ``(..., 4)`` boxes in ``src_size`` pixels.
        src_size, dst_size: ``(H, W)`` of the original and of the resized image.
        method:
            * ``'truncate'`` (default, the reference WSOL protocol): every coordinate is scaled as
              ``x * W_dst / W_src`` (in that order, float64) and truncated toward zero to an integer, e.g. box
              ``(1, 2, 4, 3)`` from ``(H, W) = (20, 10)`` to ``(10, 35)`` gives ``(3, 1, 14, 1)``.
            * ``'extent'``: inclusive pixel extents are scaled, ``x0' = x0 * s`` and ``x1' = (x1 + 1) * s - 1``
              (float), so a box covering the whole image still does after resizing.
            * ``'scale'``: every coordinate times the scale (float; for exclusive / continuous boxes).

    Returns:
        float64 ``(..., 4)`` (integer-valued for ``'truncate'``).
    """
    if method not in RESIZE_METHODS:
        raise ValueError(f'method must be one of {RESIZE_METHODS}, got {method!r}')
    src_h, src_w = _size(src_size, 'src_size')
    dst_h, dst_w = _size(dst_size, 'dst_size')
    b = _as_numpy(boxes)
    out = np.empty_like(b)
    if method == 'truncate':
        out[..., 0::2] = np.trunc(b[..., 0::2] * dst_w / src_w)
        out[..., 1::2] = np.trunc(b[..., 1::2] * dst_h / src_h)
    else:
        sx, sy = dst_w / src_w, dst_h / src_h
        out[..., 0::2] = b[..., 0::2] * sx
        out[..., 1::2] = b[..., 1::2] * sy
        if method == 'extent':
            out[..., 2] += sx - 1
            out[..., 3] += sy - 1
    return _restore(out, _torch_like(boxes))


def clip_boxes(boxes, image_size: Sequence[int], inclusive: bool = True):
    """Clip boxes to an ``(H, W)`` image: to ``[0, W - 1]`` / ``[0, H - 1]`` (``inclusive``) or ``[0, W]`` /
    ``[0, H]``. Returns float64 ``(..., 4)``."""
    h, w = _size(image_size, 'image_size')
    one = _offset(inclusive)
    b = _as_numpy(boxes).copy()
    b[..., 0::2] = np.clip(b[..., 0::2], 0, w - one)
    b[..., 1::2] = np.clip(b[..., 1::2], 0, h - one)
    return _restore(b, _torch_like(boxes))


def check_xyxy(boxes, name: str = 'boxes', non_negative: bool = True) -> np.ndarray:
    """Validate ``[x0, y0, x1, y1]`` boxes and return them as float64 ``(M, 4)`` (a ``(4,)`` box becomes
    ``(1, 4)``).

    Raises:
        ValueError: wrong shape, NaN / Inf, ``x1 < x0`` or ``y1 < y0`` (not the x0y0x1y1 convention: perhaps
            ``[x, y, w, h]``, see :func:`xywh_to_xyxy`), or, with ``non_negative``, negative coordinates.
    """
    b = _as_numpy(boxes, name)
    if b.ndim == 1:
        b = b.reshape(1, 4)
    if b.ndim != 2:
        raise ValueError(f'{name} must have shape (M, 4), got {b.shape}')
    if not np.all(np.isfinite(b)):
        raise ValueError(f'{name} contain NaN or Inf')
    bad = (b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])
    if bad.any():
        raise ValueError(f'{name} must be [x0, y0, x1, y1] with x1 >= x0 and y1 >= y0; box '
                         f'{b[np.flatnonzero(bad)[0]].tolist()} is not (for [x, y, w, h] boxes use xywh_to_xyxy)')
    if non_negative and (b < 0).any():
        first = b[np.flatnonzero((b < 0).any(axis=1))[0]].tolist()
        raise ValueError(f'{name} must have non-negative coordinates, got {first} (clip them with clip_boxes)')
    return b

