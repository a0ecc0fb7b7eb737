"""WSOL localisation metrics: MaxBoxAcc, MaxBoxAccV2, GT-known / Top-1 Loc, box accuracy at a fixed
threshold, and PxAP.

Definitions (Choe et al., "Evaluating Weakly Supervised Object Localization Methods Right", CVPR 2020); the
CAM geometry of each ``protocol`` is described in :mod:`scalenet_mm.wsol.boxes`:

* for every threshold ``tau`` of the grid (``np.arange(0, 1, step)``; default step
  :data:`~scalenet_mm.wsol.boxes.REFERENCE_THRESHOLD_STEP` = 0.001 for ``reference``, 0.01 for ``legacy``)
  the prepared CAM is boxed; an image is *correct* at ``(tau, delta)`` when the IoU of an estimated box with
  **any** of its GT boxes is ``>= delta`` (with several estimated boxes the best one counts);
* ``BoxAcc(tau, delta)`` is the percentage of correct images of the evaluated set and
  ``MaxBoxAcc@IoU{delta} = max_tau BoxAcc(tau, delta)``: the best ``tau`` is taken **on the evaluated
  split**, which is the metric's definition. Ties go to the smallest ``tau``. Accuracies are percentages;
* ``MaxBoxAcc`` (the reference's v1) is ``MaxBoxAcc@IoU0.5`` with the **largest** contour's box;
  ``MaxBoxAccV2`` is the mean over ``iou_thresholds`` (default 0.3, 0.5, 0.7) of ``MaxBoxAcc@IoU{delta}``
  with **all** contours, ``tau`` re-chosen per ``delta``. With ``multi_contour=None`` (default) the
  ``reference`` protocol computes both from the same contours, each with its own contour rule; an explicit
  ``multi_contour=True`` / ``False`` (or ``protocol='legacy'``, whose default is ``False``) uses that rule for
  every number, like one reference evaluator with ``multi_contour_eval`` set;
* ``GT-known_Loc`` is ``BoxAcc(tau*, 0.5)`` of the ``MaxBoxAcc`` contour rule, with the CAM of the GT class,
  at ``tau* = best_tau`` (so it equals ``MaxBoxAcc``) or at a ``fixed_tau`` chosen elsewhere (e.g. on a
  box-labelled selection split); ``Top-1_Loc`` also requires the top-1 class to be right (then its CAM *is*
  the GT-class CAM, so a correctness flag is all it needs). ``BoxAccV2`` is the fixed-``tau`` counterpart of
  ``MaxBoxAccV2``;
* ``PxAP`` is the area under the pixel precision-recall curve traced by the thresholds, pixel counts pooled
  over the data set. ``reference``: the reference ``MaskEvaluator`` (thresholds plus 1.0, ``score >= tau`` on
  the prepared float map, a constant map predicts every pixel at ``tau = 0``); ``legacy``: the grid only,
  and a constant map predicts nothing.
"""
import numbers
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from scalenet_mm.utils.box_geometry import box_iou, check_xyxy, resize_boxes

from .boxes import (
    REFERENCE_THRESHOLD_STEP,
    _check_thresholds,
    _to_numpy,
    box_groups,
    check_protocol,
    default_interpolation,
    make_thresholds,
    prepare_cam,
)

__all__ = [
    'resolve_thresholds', 'default_threshold_step', 'check_gt_boxes', 'best_iou_per_threshold', 'image_ious',
    'pixel_counts_per_threshold', 'BoxAccumulator', 'PxAPAccumulator'
]

ThresholdSpec = Union[float, Sequence[float], np.ndarray, None]
TauSpec = Union[float, Mapping[float, float], None]


def default_threshold_step(protocol: str = 'reference') -> float:
    """The grid step a protocol uses when none is given: 0.001 (``reference``) or 0.01 (``legacy``)."""
    return REFERENCE_THRESHOLD_STEP if check_protocol(protocol) == 'reference' else 0.01


def resolve_thresholds(thresholds: ThresholdSpec = None, default_step: float = 0.01) -> np.ndarray:
    """Turn a threshold spec into a sorted, de-duplicated float64 grid.

    ``None`` -> ``np.arange(0, 1, default_step)``; a number ``s`` -> ``np.arange(0, 1, s)`` (e.g. ``0.001``);
    a sequence -> its sorted unique values.
    """
    if thresholds is None:
        return make_thresholds(default_step)
    if isinstance(thresholds, numbers.Real) and not isinstance(thresholds, bool):
        return make_thresholds(float(thresholds))
    return np.unique(_check_thresholds(thresholds))


def check_gt_boxes(gt_boxes, protocol: str = 'legacy') -> np.ndarray:
    """Validate GT boxes: ``(4,)`` or ``(M, 4)`` ``[x0, y0, x1, y1]``, ``M >= 1``, finite.

    ``protocol='reference'`` also requires the reference's box convention: non-negative coordinates with
    ``x1 >= x0`` and ``y1 >= y0``.
    """
    check_protocol(protocol)
    gt = np.asarray(_to_numpy(gt_boxes), dtype=np.float64)
    if gt.ndim == 1 and gt.size == 4:
        gt = gt.reshape(1, 4)
    if gt.ndim != 2 or gt.shape[1] != 4:
        raise ValueError(f'gt_boxes must have shape (M, 4), got {gt.shape}')
    if gt.shape[0] == 0:
        raise ValueError('an image needs at least one GT box for box metrics')
    if not np.all(np.isfinite(gt)):
        raise ValueError('gt_boxes contain NaN or Inf')
    if protocol == 'reference':
        check_xyxy(gt, 'gt_boxes', non_negative=True)
    return gt


def image_ious(cam,
               gt_boxes,
               thresholds,
               image_size: Optional[Sequence[int]] = None,
               contour_mode: str = 'tree',
               interpolation: Optional[str] = None,
               protocol: str = 'reference') -> np.ndarray:
    """For one image, the best IoU with its GT boxes at every threshold, for both contour rules.

    Args:
        cam: ``(H', W')`` raw CAM (any resolution); prepared with :func:`~scalenet_mm.wsol.boxes.prepare_cam`.
        gt_boxes: ``(M, 4)`` GT boxes in the coordinates of ``image_size``.
        thresholds: 1-D grid of ``tau`` (any order; the output follows it).
        image_size: ``(H, W)`` the CAM is resized to; ``None`` = the CAM's own size.
        contour_mode, interpolation, protocol: see :mod:`scalenet_mm.wsol.boxes`.

    Returns:
        ``(2, T)`` float64: row 0 with the largest contour's box, row 1 with the best box of all contours.
        ``legacy``: 0 where there is no box; ``reference``: the ``[0, 0, 0, 0]`` box is scored like any box.
    """
    thr = _check_thresholds(thresholds)
    gt = check_gt_boxes(gt_boxes, protocol)
    norm = prepare_cam(cam, image_size, interpolation, protocol)
    groups, largest, index = box_groups(norm, thr, contour_mode, protocol)
    best = np.zeros((2, thr.size), dtype=np.float64)
    if not groups:
        return best
    # One IoU computation for every distinct box of every distinct mask.
    sizes = np.array([len(g) for g in groups])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    per_box = box_iou(np.concatenate(groups, axis=0), gt).max(axis=1)
    group_all = np.maximum.reduceat(per_box, starts)
    group_largest = per_box[starts + np.asarray(largest)]
    valid = index >= 0
    best[0, valid] = group_largest[index[valid]]
    best[1, valid] = group_all[index[valid]]
    return best


def best_iou_per_threshold(cam,
                           gt_boxes,
                           thresholds,
                           image_size: Optional[Sequence[int]] = None,
                           multi_contour: bool = False,
                           contour_mode: str = 'tree',
                           interpolation: Optional[str] = None,
                           protocol: str = 'reference') -> np.ndarray:
    """``(T,)`` best IoU per threshold for one contour rule (``multi_contour``); see :func:`image_ious`."""
    return image_ious(cam, gt_boxes, thresholds, image_size, contour_mode, interpolation,
                      protocol)[int(bool(multi_contour))]


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
    """Accumulates per-threshold box accuracy over images (MaxBoxAcc, MaxBoxAccV2, GT-known / Top-1 Loc).

    Memory is ``O(len(iou_thresholds) * T)``: only per-threshold hit counts are kept, for two contour rules
    (index 0: the rule of ``MaxBoxAcc`` / GT-known / Top-1 Loc; index 1: the rule of ``MaxBoxAccV2``).

    Args:
        thresholds: CAM threshold spec (see :func:`resolve_thresholds`); ``None`` -> the protocol's step
            (:func:`default_threshold_step`).
        iou_thresholds: IoU thresholds ``delta`` averaged by MaxBoxAccV2. ``0.5`` is always evaluated as well.
        multi_contour: ``None`` (default) -> ``reference``: largest contour for ``MaxBoxAcc`` (v1), all
            contours for ``MaxBoxAccV2``; ``legacy``: largest contour for both. ``True`` / ``False`` -> all /
            largest contour(s) for every number.
        contour_mode: ``'tree'`` or ``'external'`` (OpenCV contour retrieval mode).
        interpolation: CAM resize interpolation; ``None`` -> the protocol's (see :func:`prepare_cam`).
        protocol: ``'reference'`` (default; Choe et al.'s evaluator, bit-exact) or ``'legacy'``.

    Example::

        acc = BoxAccumulator()                      # reference protocol, grid step 0.001
        for cam, boxes, (h, w), ok in data:         # GT boxes in original-image pixels
            acc.update(cam, boxes, (224, 224), correct_top1=ok, ori_size=(h, w))
        res = acc.compute()                         # res['MaxBoxAcc'], res['MaxBoxAccV2'], ...
        sel = acc.compute(fixed_tau=0.23)           # box accuracy at a tau chosen on another split
    """

    def __init__(self,
                 thresholds: ThresholdSpec = None,
                 iou_thresholds: Sequence[float] = (0.3, 0.5, 0.7),
                 multi_contour: Optional[bool] = None,
                 contour_mode: str = 'tree',
                 interpolation: Optional[str] = None,
                 protocol: str = 'reference'):
        self.protocol = check_protocol(protocol)
        self.thresholds = resolve_thresholds(thresholds, default_threshold_step(protocol))
        ious = [float(d) for d in np.asarray(iou_thresholds, dtype=np.float64).reshape(-1)]
        if not ious:
            raise ValueError('iou_thresholds must not be empty')
        if any(not (0 < d <= 1) for d in ious):
            raise ValueError(f'IoU thresholds must be in (0, 1], got {ious}')
        self.iou_thresholds = tuple(dict.fromkeys(ious))  # keep order, drop duplicates
        self.deltas = np.array(sorted(set(self.iou_thresholds) | {0.5}), dtype=np.float64)
        self._i50 = int(np.flatnonzero(self.deltas == 0.5)[0])
        self.multi_contour = multi_contour
        if multi_contour is None:
            self.contour_rules = (False, True) if protocol == 'reference' else (False, False)
        else:
            self.contour_rules = (bool(multi_contour), bool(multi_contour))
        if contour_mode not in ('tree', 'external'):
            raise ValueError(f"contour_mode must be 'tree' or 'external', got {contour_mode!r}")
        self.contour_mode = contour_mode
        self.interpolation = default_interpolation(protocol, interpolation)
        self.reset()

    def reset(self) -> None:
        """Forget all accumulated images."""
        self._hits = np.zeros((2, self.deltas.size, self.thresholds.size), dtype=np.int64)
        self._top1_hits = np.zeros(self.thresholds.size, dtype=np.int64)
        self._num = 0
        self._top1_known = True

    @property
    def num_samples(self) -> int:
        return self._num

    def resize_gt(self, gt_boxes, ori_size: Sequence[int], image_size: Sequence[int]) -> np.ndarray:
        """GT boxes from ``ori_size`` pixels to the evaluation size ``image_size`` (both ``(H, W)``) with the
        protocol's rule: ``reference`` truncates every scaled coordinate (the reference's ``resize_bbox``),
        ``legacy`` scales inclusive pixel extents (see :func:`~scalenet_mm.utils.box_geometry.resize_boxes`)."""
        gt = check_gt_boxes(gt_boxes, self.protocol)
        return resize_boxes(gt, ori_size, image_size, 'truncate' if self.protocol == 'reference' else 'extent')

    def image_ious(self,
                   cam,
                   gt_boxes,
                   image_size: Optional[Sequence[int]] = None,
                   ori_size: Optional[Sequence[int]] = None) -> np.ndarray:
        """``(2, T)`` best IoU per threshold for one image (nothing is accumulated): row 0 with the rule of
        ``MaxBoxAcc``, row 1 with the rule of ``MaxBoxAccV2`` (equal rows when the rules are equal).

        With ``ori_size`` the GT boxes are in ``ori_size`` pixels and are resized to ``image_size`` first
        (:meth:`resize_gt`), e.g. ``image_ious(cam, boxes, (224, 224), ori_size=(h, w))`` for the reference.
        """
        if ori_size is not None:
            if image_size is None:
                raise ValueError('ori_size needs image_size, the evaluation size the GT boxes are resized to')
            gt_boxes = self.resize_gt(gt_boxes, ori_size, image_size)
        both = image_ious(cam, gt_boxes, self.thresholds, image_size, self.contour_mode, self.interpolation,
                          self.protocol)
        return both[[int(rule) for rule in self.contour_rules]]

    def hits_from_ious(self, ious) -> np.ndarray:
        """``ious[..., t] >= deltas[d]``: ``(T,)`` -> ``(D, T)``; ``(2, T)`` -> ``(2, D, T)`` bool."""
        ious = np.asarray(ious, dtype=np.float64)
        if ious.shape not in ((self.thresholds.size, ), (2, self.thresholds.size)):
            raise ValueError(f'expected ({self.thresholds.size},) or (2, {self.thresholds.size}) IoUs, '
                             f'got shape {ious.shape}')
        return ious[..., None, :] >= self.deltas[:, None]

    def add_hits(self, hits, correct_top1=None) -> None:
        """Accumulate one image given its hits: ``(D, T)`` (both contour rules) or ``(2, D, T)``."""
        hits = np.asarray(hits, dtype=bool)
        if hits.shape == self._hits.shape[1:]:
            hits = np.broadcast_to(hits, self._hits.shape)
        if hits.shape != self._hits.shape:
            raise ValueError(f'hits must have shape {self._hits.shape[1:]} or {self._hits.shape}, got {hits.shape}')
        top1 = _as_bool_or_none(correct_top1)
        self._hits += hits
        if top1 is None:
            self._top1_known = False
        elif top1:
            self._top1_hits += hits[0, self._i50]
        self._num += 1

    def update(self,
               cam,
               gt_boxes,
               image_size: Optional[Sequence[int]] = None,
               correct_top1=None,
               ori_size: Optional[Sequence[int]] = None) -> np.ndarray:
        """Add one image.

        Args:
            cam: ``(H', W')`` CAM of the ground-truth class (raw scores are fine).
            gt_boxes: ``(M, 4)`` inclusive GT boxes in ``image_size`` coordinates, or in ``ori_size``
                coordinates when ``ori_size`` is given.
            image_size: ``(H, W)`` evaluation size (the reference's is
                :data:`~scalenet_mm.wsol.boxes.REFERENCE_EVAL_SIZE`); ``None`` = the CAM's size.
            correct_top1: whether the top-1 prediction is the GT class; ``None`` if unknown (then
                ``Top-1_Loc`` is not reported).
            ori_size: ``(H, W)`` of the original image the GT boxes refer to; they are resized to
                ``image_size`` with the protocol's rule (:meth:`resize_gt`).

        Returns:
            The image's ``(2, T)`` best IoU per threshold (see :meth:`image_ious`).
        """
        ious = self.image_ious(cam, gt_boxes, image_size, ori_size)
        self.add_hits(self.hits_from_ious(ious), correct_top1)
        return ious

    def _grid_index(self, tau: float) -> int:
        matches = np.flatnonzero(np.isclose(self.thresholds, float(tau), rtol=0, atol=1e-12))
        if matches.size == 0:
            raise ValueError(f'fixed_tau={tau} is not on the threshold grid (step '
                             f'{self.thresholds[1] - self.thresholds[0] if self.thresholds.size > 1 else "n/a"})')
        return int(matches[0])

    def _fixed_indices(self, fixed_tau: TauSpec) -> Dict[float, int]:
        """Grid index per delta for a single ``tau`` or a ``{delta: tau}`` mapping (which must give 0.5)."""
        if isinstance(fixed_tau, Mapping):
            taus = {float(d): t for d, t in fixed_tau.items()}
            missing = [d for d in (*self.iou_thresholds, 0.5) if d not in taus]
            if missing:
                raise ValueError(f'fixed_tau mapping lacks a tau for IoU thresholds {missing}')
            return {d: self._grid_index(t) for d, t in taus.items()}
        index = self._grid_index(fixed_tau)
        return {float(d): index for d in self.deltas}

    def compute(self, fixed_tau: TauSpec = None) -> Dict:
        """Summarise the accumulated images.

        Args:
            fixed_tau: evaluate at this grid threshold instead of this set's own best ones: a single ``tau``,
                or ``{delta: tau}`` (e.g. the ``best_tau@IoU{d}`` of a selection split; 0.5 required). Adds
                ``BoxAccV2`` (mean over ``iou_thresholds`` of ``BoxAcc@IoU{d}`` at the fixed ``tau``s),
                ``BoxAcc@IoU{d}`` and ``fixed_tau``; ``GT-known_Loc`` / ``Top-1_Loc`` are then taken at the
                fixed ``tau`` of IoU 0.5 (used for selection-split operating points and for size buckets).

        Returns:
            dict with (percentages unless noted): ``MaxBoxAcc``, ``best_tau`` (its ``tau``), ``MaxBoxAccV2``,
            ``MaxBoxAcc@IoU{d}`` / ``best_tau@IoU{d}`` (the MaxBoxAccV2 contour rule) for every ``d`` in
            ``iou_thresholds`` and 0.5 (``%g``), ``GT-known_Loc``, ``Top-1_Loc`` (only when every image had a
            top-1 flag), ``num_samples`` (int) and ``curves``: lists over the grid: ``tau``,
            ``BoxAcc@IoU{d}`` (MaxBoxAccV2 rule), ``BoxAccV1`` (the MaxBoxAcc rule at IoU 0.5) and, with
            top-1 flags, ``Top-1_Loc``.
        """
        if self._num == 0:
            raise ValueError('BoxAccumulator.compute() called before any update()')
        acc = 100.0 * self._hits / self._num  # (2, D, T)
        v1_curve = acc[0, self._i50]
        v2_best = np.argmax(acc[1], axis=1)  # first max -> smallest tau
        v1_best = int(np.argmax(v1_curve))
        out: Dict = {}
        per_delta = {}
        for d, delta in enumerate(self.deltas):
            key = _fmt(delta)
            per_delta[float(delta)] = float(acc[1, d, v2_best[d]])
            out[f'MaxBoxAcc@IoU{key}'] = per_delta[float(delta)]
            out[f'best_tau@IoU{key}'] = float(self.thresholds[v2_best[d]])
        out['MaxBoxAcc'] = float(v1_curve[v1_best])
        out['MaxBoxAccV2'] = float(np.mean([per_delta[d] for d in self.iou_thresholds]))
        out['best_tau'] = float(self.thresholds[v1_best])
        t_star = v1_best
        if fixed_tau is not None:
            fixed = self._fixed_indices(fixed_tau)
            t_star = fixed[0.5]
            for d, delta in enumerate(self.deltas):
                out[f'BoxAcc@IoU{_fmt(delta)}'] = float(acc[1, d, fixed[float(delta)]])
            out['BoxAccV2'] = float(np.mean([acc[1, d, fixed[float(delta)]] for d, delta in enumerate(self.deltas)
                                             if float(delta) in self.iou_thresholds]))
            out['fixed_tau'] = float(self.thresholds[t_star])
        out['GT-known_Loc'] = float(v1_curve[t_star])
        top1_curve = 100.0 * self._top1_hits / self._num
        if self._top1_known:
            out['Top-1_Loc'] = float(top1_curve[t_star])
        out['num_samples'] = int(self._num)
        curves: Dict[str, List[float]] = {'tau': self.thresholds.tolist()}
        for d, delta in enumerate(self.deltas):
            curves[f'BoxAcc@IoU{_fmt(delta)}'] = acc[1, d].tolist()
        curves['BoxAccV1'] = v1_curve.tolist()
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
                               interpolation: Optional[str] = None,
                               protocol: str = 'reference') -> Tuple[np.ndarray, np.ndarray, int, int]:
    """Pixel TP / FP counts of ``prepared_cam >= tau`` against a GT mask, for every threshold.

    The CAM is prepared at the mask's size (:func:`~scalenet_mm.wsol.boxes.prepare_cam`). Mask pixels equal
    to ``ignore_index`` are skipped; other non-zero pixels are object. ``legacy``: a constant CAM predicts no
    pixel at any threshold; ``reference``: it is all zeros, so every pixel is predicted where ``tau <= 0``.

    Returns:
        ``(tp, fp, num_pos, num_neg)``: ``(T,)`` int64 counts (in the order of ``thresholds``) and the numbers
        of valid object / background pixels.
    """
    thr = _check_thresholds(thresholds)
    pos, valid = _mask_to_labels(gt_mask, ignore_index)
    norm = prepare_cam(cam, pos.shape, interpolation, protocol)
    num_pos = int(pos.sum())
    num_neg = int(valid.sum()) - num_pos
    if protocol == 'legacy' and not norm.any():
        zeros = np.zeros(thr.size, dtype=np.int64)
        return zeros, zeros.copy(), num_pos, num_neg

    def count_ge(values: np.ndarray) -> np.ndarray:
        values = np.sort(values)
        return (values.size - np.searchsorted(values, thr, side='left')).astype(np.int64)

    return count_ge(norm[pos]), count_ge(norm[valid & ~pos]), num_pos, num_neg


class PxAPAccumulator:
    """Pixel average precision (PxAP) over a data set with GT masks.

    Pixel counts are pooled over all images for every threshold. ``reference`` (the reference
    ``MaskEvaluator``): with the ascending grid (its values below 1) extended by 1.0 and 2.0
    (``tau_0 < ... < tau_{T+1}``) and
    ``TP_t`` / ``FP_t`` the object / background pixels with ``score >= tau_t``, ``R_t = TP_t / TP_0``,
    ``P_t = TP_t / (TP_t + FP_t)``, ``PxAP = 100 * sum_{t <= T} P_t (R_t - R_{t+1})`` over the ``t`` with a
    prediction. ``legacy``: the grid alone, ``R_t = TP_t / P`` (all object pixels), ``P_t = 1`` without a
    prediction and ``R_T = 0``.

    Args:
        thresholds: threshold spec (see :func:`resolve_thresholds`); ``None`` -> the protocol's step.
        ignore_index: mask value to ignore (e.g. 255 for "don't care" borders); ``None`` = none.
        interpolation: CAM resize interpolation; ``None`` -> the protocol's.
        protocol: ``'reference'`` (default) or ``'legacy'``.
    """

    def __init__(self,
                 thresholds: ThresholdSpec = None,
                 ignore_index: Optional[int] = None,
                 interpolation: Optional[str] = None,
                 protocol: str = 'reference'):
        self.protocol = check_protocol(protocol)
        self.thresholds = resolve_thresholds(thresholds, default_threshold_step(protocol))
        if protocol == 'reference':  # the reference appends the edges 1.0 and 2.0 to its grid (all below 1)
            below_one = self.thresholds[self.thresholds < 1.0]
            if below_one.size == 0:
                raise ValueError(f'the reference PxAP needs thresholds below 1, got {self.thresholds.tolist()}')
            self._count_thresholds = np.append(below_one, [1.0, 2.0])
        else:
            self._count_thresholds = self.thresholds
        self.ignore_index = ignore_index
        self.interpolation = default_interpolation(protocol, interpolation)
        self.reset()

    def reset(self) -> None:
        self._tp = np.zeros(self._count_thresholds.size, dtype=np.int64)
        self._fp = np.zeros(self._count_thresholds.size, dtype=np.int64)
        self._num_pos = 0
        self._num_neg = 0
        self._num = 0

    @property
    def num_samples(self) -> int:
        return self._num

    def image_counts(self, cam, gt_mask) -> Tuple[np.ndarray, np.ndarray, int, int]:
        """Counts for one image (nothing is accumulated), at the grid (plus 1.0 and 2.0 for ``reference``)."""
        return pixel_counts_per_threshold(cam, gt_mask, self._count_thresholds, self.ignore_index,
                                          self.interpolation, self.protocol)

    def add_counts(self, tp, fp, num_pos: int, num_neg: int) -> None:
        self._tp += np.asarray(tp, dtype=np.int64)
        self._fp += np.asarray(fp, dtype=np.int64)
        self._num_pos += int(num_pos)
        self._num_neg += int(num_neg)
        self._num += 1

    def update(self, cam, gt_mask) -> None:
        """Add one image: ``cam`` ``(H', W')`` is resized to ``gt_mask``'s ``(H, W)``."""
        self.add_counts(*self.image_counts(cam, gt_mask))

    def _reference_pxap(self) -> Tuple[float, np.ndarray, np.ndarray]:
        # The reference's arrays run from the highest threshold (2.0) down to tau_0.
        tp = self._tp[::-1].astype(np.float64)
        fp = self._fp[::-1].astype(np.float64)
        if tp[-1] <= 0:
            raise ValueError('PxAP is undefined: the GT masks contain no object pixel')
        if (tp + fp <= 0).all():
            raise ValueError('PxAP is undefined: no pixel is predicted at any threshold')
        predicted = (tp + fp) != 0
        with np.errstate(invalid='ignore', divide='ignore'):
            precision = tp / (tp + fp)
        recall = tp / tp[-1]
        pxap = float((precision[1:] * np.diff(recall))[predicted[1:]].sum()) * 100
        return pxap, precision[::-1], recall[::-1]

    def compute(self) -> Dict:
        """Returns ``PxAP`` (percentage), ``num_samples`` and ``curves`` (``tau``, ``precision``, ``recall``
        lists over the counted thresholds; NaN precision where nothing is predicted, ``reference`` only)."""
        if self._num == 0:
            raise ValueError('PxAPAccumulator.compute() called before any update()')
        if self._num_pos == 0:
            raise ValueError('PxAP is undefined: the GT masks contain no object pixel')
        if self.protocol == 'reference':
            pxap, precision, recall = self._reference_pxap()
        else:
            tp = self._tp.astype(np.float64)
            predicted = tp + self._fp
            precision = np.divide(tp, predicted, out=np.ones_like(tp), where=predicted > 0)
            recall = tp / self._num_pos
            next_recall = np.append(recall[1:], 0.0)
            pxap = 100.0 * float(np.sum((recall - next_recall) * precision))
        return dict(
            PxAP=pxap,
            num_samples=int(self._num),
            curves=dict(tau=self._count_thresholds.tolist(), precision=precision.tolist(), recall=recall.tolist()))
