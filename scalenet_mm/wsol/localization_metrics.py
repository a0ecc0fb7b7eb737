"""WSOL localisation metrics: MaxBoxAcc, MaxBoxAccV2, GT-known / Top-1 Loc and PxAP.

Protocol (Choe et al., "Evaluating Weakly Supervised Object Localization Methods Right",
CVPR 2020), with the conventions of :mod:`scalenet_mm.wsol.boxes`:

* each CAM is validated (NaN / Inf raise ``ValueError``), min-max normalised and resized to
  the evaluation size (:func:`~scalenet_mm.wsol.boxes.prepare_cam`);
* for every threshold ``tau`` of the grid (default ``np.arange(0, 1, 0.01)``) the map is
  binarised with ``cam >= tau`` and boxed (largest contour, or every contour with
  ``multi_contour=True``); a constant map yields no box at any ``tau``;
* an image is *correct* at ``(tau, delta)`` if the IoU of an estimated box with **any** of
  its GT boxes is ``>= delta`` (with several estimated boxes - multi-contour - the best one
  counts); no box means IoU 0, a miss;
* ``BoxAcc(tau, delta)`` is the percentage of correct images;
  ``MaxBoxAcc@IoU{delta} = max_tau BoxAcc(tau, delta)`` with its own best ``tau``;
  ``MaxBoxAcc = MaxBoxAcc@IoU0.5``; ``MaxBoxAccV2`` is the mean of ``MaxBoxAcc@IoU{delta}``
  over ``iou_thresholds`` (default 0.3, 0.5, 0.7), ``tau`` chosen per ``delta``;
* ``GT-known_Loc`` is ``BoxAcc(tau*, 0.5)`` for the CAM of the ground-truth class at
  ``tau* = best_tau`` (the ``argmax`` for ``delta = 0.5``), hence equal to ``MaxBoxAcc``;
  ``Top-1_Loc`` is the percentage of images whose top-1 class is correct **and** which are
  correct at ``(tau*, 0.5)``. (When the top-1 class is right its CAM *is* the GT-class CAM,
  so the GT-class CAM plus a correctness flag is all Top-1 Loc needs.)
* Ties in ``argmax`` go to the smallest ``tau``. All accuracies are percentages (0-100).
* ``PxAP`` is the area under the pixel precision-recall curve traced by the same thresholds
  (pixel counts pooled over the data set), as a percentage.
"""
import numbers
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .boxes import _check_thresholds, _grouped_boxes, _to_numpy, box_iou, make_thresholds, prepare_cam

__all__ = [
    'resolve_thresholds', 'check_gt_boxes', 'best_iou_per_threshold', 'pixel_counts_per_threshold',
    'BoxAccumulator', 'PxAPAccumulator'
]

ThresholdSpec = Union[float, Sequence[float], np.ndarray, None]


def resolve_thresholds(thresholds: ThresholdSpec = None) -> np.ndarray:
    """Turn a threshold spec into a sorted, de-duplicated float64 grid.

    ``None`` -> ``np.arange(0, 1, 0.01)``; a number ``s`` -> ``np.arange(0, 1, s)`` (e.g.
    ``0.001``); a sequence -> its sorted unique values.
    """
    if thresholds is None:
        return make_thresholds(0.01)
    if isinstance(thresholds, numbers.Real) and not isinstance(thresholds, bool):
        return make_thresholds(float(thresholds))
    return np.unique(_check_thresholds(thresholds))


def check_gt_boxes(gt_boxes) -> np.ndarray:
    """Validate GT boxes: ``(4,)`` or ``(M, 4)`` inclusive ``[x0, y0, x1, y1]``, ``M >= 1``."""
    gt = np.asarray(_to_numpy(gt_boxes), dtype=np.float64)
    if gt.ndim == 1 and gt.size == 4:
        gt = gt.reshape(1, 4)
    if gt.ndim != 2 or gt.shape[1] != 4:
        raise ValueError(f'gt_boxes must have shape (M, 4), got {gt.shape}')
    if gt.shape[0] == 0:
        raise ValueError('an image needs at least one GT box for box metrics')
    if not np.all(np.isfinite(gt)):
        raise ValueError('gt_boxes contain NaN or Inf')
    return gt


def best_iou_per_threshold(cam,
                           gt_boxes,
                           thresholds,
                           image_size: Optional[Sequence[int]] = None,
                           multi_contour: bool = False,
                           contour_mode: str = 'tree',
                           interpolation: str = 'bilinear') -> np.ndarray:
    """For one image, the IoU of its best estimated box at every threshold.

    Args:
        cam: ``(H', W')`` CAM (any resolution).
        gt_boxes: ``(M, 4)`` inclusive GT boxes in the coordinates of ``image_size``.
        thresholds: 1-D grid of ``tau`` (any order; the output follows it).
        image_size: ``(H, W)`` the CAM is resized to; ``None`` = the CAM's own size.
        multi_contour, contour_mode: see :func:`~scalenet_mm.wsol.boxes.boxes_from_cam`.
        interpolation: see :func:`~scalenet_mm.wsol.boxes.prepare_cam`.

    Returns:
        ``(T,)`` float64: ``max`` over estimated boxes and GT boxes of the IoU, 0 where
        there is no box (constant map or empty mask).
    """
    thr = _check_thresholds(thresholds)
    gt = check_gt_boxes(gt_boxes)
    norm = prepare_cam(cam, image_size, interpolation)
    groups, index = _grouped_boxes(norm, thr, multi_contour, contour_mode)
    best = np.zeros(thr.size, dtype=np.float64)
    if not groups:
        return best
    # One IoU computation for every distinct box of every distinct mask.
    sizes = np.array([len(g) for g in groups])
    group_best = np.zeros(len(groups), dtype=np.float64)
    if sizes.sum() > 0:
        ious = box_iou(np.concatenate(groups, axis=0), gt).max(axis=1)
        np.maximum.at(group_best, np.repeat(np.arange(len(groups)), sizes), ious)
    valid = index >= 0
    best[valid] = group_best[index[valid]]
    return best


def _as_bool_or_none(flag) -> Optional[bool]:
    if flag is None:
        return None
    arr = np.asarray(_to_numpy(flag))
    if arr.size != 1:
        raise ValueError(f'correct_top1 must be a single boolean, got shape {arr.shape}')
    return bool(arr.reshape(-1)[0])


def _fmt(delta: float) -> str:
    return f'{float(delta):g}'


class BoxAccumulator:
    """Accumulates per-threshold box accuracy over images (MaxBoxAcc / MaxBoxAccV2).

    Memory is ``O(len(iou_thresholds) * T)``: only per-threshold hit counts are kept.

    Args:
        thresholds: CAM threshold spec (see :func:`resolve_thresholds`); default step 0.01.
        iou_thresholds: IoU thresholds ``delta`` averaged by MaxBoxAccV2. ``0.5`` is always
            evaluated as well (for MaxBoxAcc, GT-known and Top-1 Loc).
        multi_contour: use every contour's box (best IoU counts) instead of the largest one.
        contour_mode: ``'tree'`` or ``'external'`` (OpenCV contour retrieval mode).
        interpolation: CAM resize interpolation (see :func:`prepare_cam`).

    Example::

        acc = BoxAccumulator(0.01, multi_contour=True)
        for cam, boxes, (h, w), ok in data:
            acc.update(cam, boxes, (h, w), correct_top1=ok)
        res = acc.compute()   # res['MaxBoxAccV2'], res['curves']['BoxAcc@IoU0.5'], ...
    """

    def __init__(self,
                 thresholds: ThresholdSpec = None,
                 iou_thresholds: Sequence[float] = (0.3, 0.5, 0.7),
                 multi_contour: bool = False,
                 contour_mode: str = 'tree',
                 interpolation: str = 'bilinear'):
        self.thresholds = resolve_thresholds(thresholds)
        ious = [float(d) for d in np.asarray(iou_thresholds, dtype=np.float64).reshape(-1)]
        if not ious:
            raise ValueError('iou_thresholds must not be empty')
        if any(not (0 < d <= 1) for d in ious):
            raise ValueError(f'IoU thresholds must be in (0, 1], got {ious}')
        self.iou_thresholds = tuple(dict.fromkeys(ious))  # keep order, drop duplicates
        self.deltas = np.array(sorted(set(self.iou_thresholds) | {0.5}), dtype=np.float64)
        self._i50 = int(np.flatnonzero(self.deltas == 0.5)[0])
        self.multi_contour = bool(multi_contour)
        self.contour_mode = contour_mode
        self.interpolation = interpolation
        self.reset()

    def reset(self) -> None:
        """Forget all accumulated images."""
        self._hits = np.zeros((self.deltas.size, self.thresholds.size), dtype=np.int64)
        self._top1_hits = np.zeros(self.thresholds.size, dtype=np.int64)
        self._num = 0
        self._top1_known = True

    @property
    def num_samples(self) -> int:
        return self._num

    def image_ious(self, cam, gt_boxes, image_size: Optional[Sequence[int]] = None) -> np.ndarray:
        """``(T,)`` best IoU per threshold for one image (nothing is accumulated)."""
        return best_iou_per_threshold(cam, gt_boxes, self.thresholds, image_size,
                                      self.multi_contour, self.contour_mode, self.interpolation)

    def hits_from_ious(self, ious) -> np.ndarray:
        """``(D, T)`` bool: ``ious[t] >= deltas[d]`` (``D = len(self.deltas)``)."""
        ious = np.asarray(ious, dtype=np.float64).reshape(-1)
        if ious.size != self.thresholds.size:
            raise ValueError(f'expected {self.thresholds.size} IoUs, got {ious.size}')
        return ious[None, :] >= self.deltas[:, None]

    def add_hits(self, hits, correct_top1=None) -> None:
        """Accumulate one image given its ``(D, T)`` hit matrix (see :meth:`hits_from_ious`)."""
        hits = np.asarray(hits, dtype=bool)
        if hits.shape != self._hits.shape:
            raise ValueError(f'hits must have shape {self._hits.shape}, got {hits.shape}')
        top1 = _as_bool_or_none(correct_top1)
        self._hits += hits
        if top1 is None:
            self._top1_known = False
        elif top1:
            self._top1_hits += hits[self._i50]
        self._num += 1

    def update(self,
               cam,
               gt_boxes,
               image_size: Optional[Sequence[int]] = None,
               correct_top1=None) -> np.ndarray:
        """Add one image.

        Args:
            cam: ``(H', W')`` CAM of the ground-truth class.
            gt_boxes: ``(M, 4)`` inclusive GT boxes in ``image_size`` coordinates.
            image_size: ``(H, W)`` evaluation size; ``None`` = the CAM's size.
            correct_top1: whether the top-1 prediction is the GT class; ``None`` if unknown
                (then ``Top-1_Loc`` is not reported).

        Returns:
            The image's ``(T,)`` best IoU per threshold.
        """
        ious = self.image_ious(cam, gt_boxes, image_size)
        self.add_hits(self.hits_from_ious(ious), correct_top1)
        return ious

    def compute(self, fixed_tau: Optional[float] = None) -> Dict:
        """Summarise the accumulated images.

        Args:
            fixed_tau: evaluate ``GT-known_Loc`` / ``Top-1_Loc`` at this grid threshold
                instead of this set's own ``best_tau`` (used for subsets, e.g. size buckets,
                so that they share the global operating point).

        Returns:
            dict with (percentages unless noted):

            - ``MaxBoxAcc``, ``MaxBoxAccV2``, ``GT-known_Loc``, ``Top-1_Loc`` (only when
              every image had a top-1 flag), ``best_tau`` (``tau*`` for IoU 0.5),
            - ``MaxBoxAcc@IoU{d}`` and ``best_tau@IoU{d}`` for every ``d`` in
              ``iou_thresholds`` and 0.5 (``d`` formatted with ``%g``),
            - ``num_samples`` (int),
            - ``curves``: dict of lists over the grid: ``tau``, ``BoxAcc@IoU{d}`` and, with
              top-1 flags, ``Top-1_Loc`` (Top-1 Loc as a function of ``tau``).
        """
        if self._num == 0:
            raise ValueError('BoxAccumulator.compute() called before any update()')
        acc = 100.0 * self._hits / self._num  # (D, T)
        best_idx = np.argmax(acc, axis=1)  # first max -> smallest tau
        out: Dict = {}
        per_delta = {}
        for d, delta in enumerate(self.deltas):
            key = _fmt(delta)
            per_delta[float(delta)] = float(acc[d, best_idx[d]])
            out[f'MaxBoxAcc@IoU{key}'] = float(acc[d, best_idx[d]])
            out[f'best_tau@IoU{key}'] = float(self.thresholds[best_idx[d]])
        out['MaxBoxAcc'] = per_delta[0.5]
        out['MaxBoxAccV2'] = float(np.mean([per_delta[d] for d in self.iou_thresholds]))
        if fixed_tau is None:
            t_star = int(best_idx[self._i50])
        else:
            matches = np.flatnonzero(np.isclose(self.thresholds, float(fixed_tau), rtol=0, atol=1e-12))
            if matches.size == 0:
                raise ValueError(f'fixed_tau={fixed_tau} is not on the threshold grid')
            t_star = int(matches[0])
        out['best_tau'] = float(self.thresholds[best_idx[self._i50]])
        out['GT-known_Loc'] = float(acc[self._i50, t_star])
        top1_curve = 100.0 * self._top1_hits / self._num
        if self._top1_known:
            out['Top-1_Loc'] = float(top1_curve[t_star])
        out['num_samples'] = int(self._num)
        curves: Dict[str, List[float]] = {'tau': self.thresholds.tolist()}
        for d, delta in enumerate(self.deltas):
            curves[f'BoxAcc@IoU{_fmt(delta)}'] = acc[d].tolist()
        if self._top1_known:
            curves['Top-1_Loc'] = top1_curve.tolist()
        out['curves'] = curves
        return out


def _mask_to_labels(gt_mask, ignore_index: Optional[int]) -> Tuple[np.ndarray, np.ndarray]:
    """``(positive, valid)`` boolean maps from a GT mask (non-zero = object)."""
    mask = np.asarray(_to_numpy(gt_mask))
    if mask.ndim == 3 and mask.shape[0] == 1:
        mask = mask[0]
    if mask.ndim != 2:
        raise ValueError(f'gt_mask must be 2-D (H, W), got shape {mask.shape}')
    valid = np.ones(mask.shape, dtype=bool) if ignore_index is None else (mask != ignore_index)
    return (mask != 0) & valid, valid


def pixel_counts_per_threshold(cam,
                               gt_mask,
                               thresholds,
                               ignore_index: Optional[int] = None,
                               interpolation: str = 'bilinear') -> Tuple[np.ndarray, np.ndarray, int, int]:
    """Pixel TP / FP counts of ``cam >= tau`` against a GT mask, for every threshold.

    The CAM is resized to the mask's size. Mask pixels equal to ``ignore_index`` are
    skipped; other non-zero pixels are object. A constant CAM predicts no pixel at any
    threshold.

    Returns:
        ``(tp, fp, num_pos, num_neg)``: ``(T,)`` int64 counts (in the order of ``thresholds``)
        and the numbers of valid object / background pixels.
    """
    thr = _check_thresholds(thresholds)
    pos, valid = _mask_to_labels(gt_mask, ignore_index)
    norm = prepare_cam(cam, pos.shape, interpolation)
    num_pos = int(pos.sum())
    num_neg = int(valid.sum()) - num_pos
    if not norm.any():
        zeros = np.zeros(thr.size, dtype=np.int64)
        return zeros, zeros.copy(), num_pos, num_neg

    def count_ge(values: np.ndarray) -> np.ndarray:
        values = np.sort(values)
        return (values.size - np.searchsorted(values, thr, side='left')).astype(np.int64)

    return count_ge(norm[pos]), count_ge(norm[valid & ~pos]), num_pos, num_neg


class PxAPAccumulator:
    """Pixel average precision (PxAP) over a data set with GT masks.

    Pixel counts are pooled over all images for every threshold ``tau`` (ascending grid
    ``tau_0 < ... < tau_{T-1}``); with ``TP_t`` / ``FP_t`` the object / background pixels
    with ``cam >= tau_t``, ``R_t = TP_t / P`` and ``P_t = TP_t / (TP_t + FP_t)`` (1 when
    nothing is predicted, which has zero weight anyway),
    ``PxAP = 100 * sum_t (R_t - R_{t+1}) * P_t`` with ``R_T = 0``
    (step-wise area under the precision-recall curve, from high to low ``tau``).

    Args:
        thresholds: threshold spec (see :func:`resolve_thresholds`).
        ignore_index: mask value to ignore (e.g. 255 for "don't care" borders); ``None`` = none.
        interpolation: CAM resize interpolation.
    """

    def __init__(self,
                 thresholds: ThresholdSpec = None,
                 ignore_index: Optional[int] = None,
                 interpolation: str = 'bilinear'):
        self.thresholds = resolve_thresholds(thresholds)
        self.ignore_index = ignore_index
        self.interpolation = interpolation
        self.reset()

    def reset(self) -> None:
        self._tp = np.zeros(self.thresholds.size, dtype=np.int64)
        self._fp = np.zeros(self.thresholds.size, dtype=np.int64)
        self._num_pos = 0
        self._num_neg = 0
        self._num = 0

    @property
    def num_samples(self) -> int:
        return self._num

    def image_counts(self, cam, gt_mask) -> Tuple[np.ndarray, np.ndarray, int, int]:
        """Counts for one image (nothing is accumulated)."""
        return pixel_counts_per_threshold(cam, gt_mask, self.thresholds, self.ignore_index,
                                          self.interpolation)

    def add_counts(self, tp, fp, num_pos: int, num_neg: int) -> None:
        self._tp += np.asarray(tp, dtype=np.int64)
        self._fp += np.asarray(fp, dtype=np.int64)
        self._num_pos += int(num_pos)
        self._num_neg += int(num_neg)
        self._num += 1

    def update(self, cam, gt_mask) -> None:
        """Add one image: ``cam`` ``(H', W')`` is resized to ``gt_mask``'s ``(H, W)``."""
        self.add_counts(*self.image_counts(cam, gt_mask))

    def compute(self) -> Dict:
        """Returns ``PxAP`` (percentage), ``num_samples`` and ``curves`` (``tau``,
        ``precision``, ``recall`` lists over the grid)."""
        if self._num == 0:
            raise ValueError('PxAPAccumulator.compute() called before any update()')
        if self._num_pos == 0:
            raise ValueError('PxAP is undefined: the GT masks contain no object pixel')
        tp = self._tp.astype(np.float64)
        predicted = tp + self._fp
        precision = np.divide(tp, predicted, out=np.ones_like(tp), where=predicted > 0)
        recall = tp / self._num_pos
        next_recall = np.append(recall[1:], 0.0)
        pxap = 100.0 * float(np.sum((recall - next_recall) * precision))
        return dict(
            PxAP=pxap,
            num_samples=int(self._num),
            curves=dict(
                tau=self.thresholds.tolist(),
                precision=precision.tolist(),
                recall=recall.tolist()))
