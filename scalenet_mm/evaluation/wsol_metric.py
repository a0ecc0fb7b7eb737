"""``WSOLMetric``: weakly supervised object localisation metrics from CAMs (mmengine metric).

Data-sample contract (what the CAM head / data pipeline must fill)
-------------------------------------------------------------------

Each data sample passed to :meth:`WSOLMetric.process` may be an mmpretrain ``DataSample``
(any mmengine ``BaseDataElement``) or a plain ``dict`` (mmengine's ``Evaluator`` converts data
elements with ``to_dict()``, which merges metainfo into the dict). Fields read:

========================  ===================================================================
field                     meaning
========================  ===================================================================
``pred_cam`` (required)   CAM of the **ground-truth class**, ``(H', W')`` tensor / array at any
                          resolution (e.g. the 14x14 head output), any real dtype / device.
                          Alternatively ``(C, H', W')`` CAMs of all classes: the metric then
                          takes channel ``gt_label`` (a ``(1, H', W')`` map is squeezed).
                          Raw (un-normalised, e.g. pre-ReLU) scores are fine: the metric
                          min-max normalises. NaN / Inf raise ``ValueError``; a constant map
                          gives no box (a miss). There is no separate ``cam_top1``: when the
                          top-1 class is right its CAM *is* the GT-class CAM, and when it is
                          wrong Top-1 Loc is a miss whatever the box, so Top-1 Loc only needs
                          ``pred_cam`` plus the labels below.
``ori_shape`` (required)  metainfo ``(H, W)`` of the original image, the frame of ``gt_bboxes``
                          / ``gt_mask``. They are resized from it to the evaluation size
                          (``reference``: 224 x 224; boxes with the reference's truncation,
                          masks with nearest neighbour) and ``pred_cam`` is resized to the
                          evaluation size (``reference``: bicubic, then normalised).
``gt_bboxes``             ``(N, 4)`` ``[x0, y0, x1, y1]`` in ``ori_shape`` pixels, 0-based and
                          **inclusive** (width ``x1 - x0 + 1``), as the scalenet_mm CUB /
                          ImageNet-boxes data sets produce. ``gt_bbox_format='exclusive'`` accepts
                          mmdet-style ``x1 = x0 + width`` boxes instead. If absent,
                          ``gt_instances.bboxes`` (mmdet) is used. Any GT box may match.
``gt_label``              GT class index (int or 1-element tensor). Needed for Top-1 Loc and
                          to pick the channel of a ``(C, H', W')`` ``pred_cam``.
``pred_label``            top-1 predicted class (int or 1-element tensor); if absent, the argmax
                          of ``pred_score`` is used. Without both ``gt_label`` and one of these,
                          ``Top-1_Loc`` is not reported.
``gt_mask`` (optional)    ``(H, W)`` object mask in ``ori_shape`` pixels (non-zero = object,
                          ``mask_ignore_index`` = don't care) -> ``PxAP``.
========================  ===================================================================

A sample needs ``gt_bboxes`` (non-empty) and / or ``gt_mask``. Samples with empty / missing boxes
and no mask raise ``ValueError`` unless ``empty_gt='skip'`` (then they are counted in
``num_skipped`` and ignored).

Reported keys (prefixed ``wsol/`` by default; accuracies in percent)
--------------------------------------------------------------------

``MaxBoxAcc`` (IoU 0.5, largest contour by default), ``MaxBoxAccV2`` (mean over ``iou_thresholds``,
all contours by default, best ``tau`` per IoU), ``MaxBoxAcc@IoU{d}`` / ``best_tau@IoU{d}`` per IoU
threshold (the components of ``MaxBoxAccV2``), ``best_tau`` (the operating point of ``MaxBoxAcc``),
``GT-known_Loc``, ``Top-1_Loc`` (at ``best_tau``), ``num_samples``; ``PxAP`` and
``PxAP_num_samples`` when masks are given; per size bucket ``{bucket}/MaxBoxAccV2`` (``tau``
re-optimised within the bucket), ``{bucket}/GT-known_Loc`` and ``{bucket}/Top-1_Loc`` (at the
global ``best_tau``, so bucket values weighted by ``{bucket}/num_samples`` average back to the
global value when the buckets partition the data) and ``{bucket}/num_samples``; with
``return_curves=True`` also ``curve/tau``, ``curve/BoxAcc@IoU{d}``, ``curve/BoxAccV1``, ``curve/Top-1_Loc``,
``curve/PxAP_precision`` and ``curve/PxAP_recall`` (lists over the threshold grid).

The box semantics are those of :mod:`scalenet_mm.wsol.boxes` and
:mod:`scalenet_mm.wsol.localization_metrics`: by default (``protocol='reference'``) exactly the evaluation of
Choe et al. (clovaai/wsolevaluation): CAM resized to 224 x 224 with ``cv2.INTER_CUBIC`` and min-max
normalised, 8-bit strict thresholding, ``RETR_TREE`` contours, reference boxes (``[0, 0, 0, 0]`` without a
contour), GT boxes resized to 224 with truncation, inclusive ``+1`` IoU, ``MaxBoxAcc`` with the largest
contour and ``MaxBoxAccV2`` with all contours, the best ``tau`` taken on the evaluated split, grid step 0.001.
``protocol='legacy'`` keeps the previous geometry (``cam >= tau`` on a bilinear map at ``ori_shape``,
inclusive contour extents, no box for a constant map, grid step 0.01, every number with all contours).
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from scalenet_mm.registry import register_metric
from scalenet_mm.utils.box_geometry import box_area, clip_boxes
from scalenet_mm.wsol.boxes import REFERENCE_EVAL_SIZE, _to_numpy, check_protocol
from scalenet_mm.wsol.localization_metrics import (
    BoxAccumulator,
    PxAPAccumulator,
    check_gt_boxes,
    default_threshold_step,
)

__all__ = ['WSOLMetric']

_MISSING = object()


def _field(sample: Any, name: str) -> Any:
    """``sample.a.b`` for ``name='a.b'`` on dicts or data elements; ``None`` if missing."""
    obj = sample
    for part in name.split('.'):
        if isinstance(obj, dict):
            obj = obj.get(part, _MISSING)
        else:
            obj = getattr(obj, part, _MISSING)
        if obj is _MISSING or obj is None:
            return None
    return obj


def _array(x) -> np.ndarray:
    if hasattr(x, 'tensor') and not hasattr(x, 'detach'):  # mmdet BaseBoxes
        x = x.tensor
    return np.asarray(_to_numpy(x))


def _label(x, name: str) -> Optional[int]:
    if x is None:
        return None
    arr = _array(x).reshape(-1)
    if arr.size == 0:
        return None
    if arr.size != 1:
        raise ValueError(f'WSOLMetric expects a single-label {name}, got {arr.size} values')
    return int(arr[0])


@register_metric()
class WSOLMetric(BaseMetric):
    """MaxBoxAcc, MaxBoxAccV2, GT-known / Top-1 Loc and PxAP from CAMs (see module docstring
    for the data-sample contract and the reported keys).

    Args:
        thresholds: CAM threshold grid; ``None`` -> ``np.arange(0, 1, threshold_step)``;
            a sequence is sorted and de-duplicated.
        threshold_step: grid step when ``thresholds`` is None; ``None`` -> the protocol's (0.001 for
            ``reference``, the reference's default ``cam_curve_interval``; 0.01 for ``legacy``).
        iou_thresholds: IoU thresholds averaged by MaxBoxAccV2 (IoU 0.5 is always evaluated).
        multi_contour: ``None`` (default) -> ``reference``: ``MaxBoxAcc`` / GT-known / Top-1 Loc with the
            largest contour's box (MaxBoxAcc v1) and ``MaxBoxAccV2`` with the best box of all contours, as
            the reference defines them; ``legacy``: all contours for every number. ``True`` / ``False``
            -> all contours / the largest contour for every number.
        contour_mode: ``'tree'`` (``cv2.RETR_TREE``, default) or ``'external'``.
        interpolation: CAM resize mode: ``'bicubic'``, ``'bilinear'``, ``'nearest'``, ``'area'``;
            ``None`` -> the protocol's (``reference``: bicubic; ``legacy``: bilinear).
        gt_bbox_format: ``'inclusive'`` (default; ``x1 = x0 + width - 1``) or ``'exclusive'``
            (``x1 = x0 + width``: 1 is subtracted from ``x1`` and ``y1``).
        eval_size: ``(H, W)`` evaluation size, ``'original'`` (evaluate at ``ori_shape``) or ``None``
            (default: the protocol's, ``(224, 224)`` for ``reference`` and ``'original'`` for
            ``legacy``). GT boxes are rescaled from ``ori_shape`` (``reference``: each coordinate
            scaled and truncated to an integer, as the reference's ``resize_bbox``; ``legacy``:
            inclusive pixel extents ``x0' = x0 * sx``, ``x1' = (x1 + 1) * sx - 1``, float), masks
            resized with nearest neighbour.
        size_buckets: optional ``{name: (lo, hi)}``; an image is in a bucket when
            ``lo < f <= hi`` with ``f`` the area of its largest GT box (clipped to the image)
            divided by the image area, e.g. ``dict(small=(0, 0.1), medium=(0.1, 0.3),
            large=(0.3, 1.0))``.
        mask_ignore_index: ``gt_mask`` value to ignore for PxAP (``None``: none).
        empty_gt: ``'error'`` (default) or ``'skip'`` for samples without boxes and mask.
        return_curves: also return the accuracy-vs-``tau`` curves (lists) in the metrics.
        protocol: ``'reference'`` (default) or ``'legacy'`` (see the module docstring).
        collect_device: ``'cpu'`` or ``'gpu'``, for gathering results across ranks.
        prefix: key prefix; default ``'wsol'``.
        collect_dir: temporary directory for ``collect_device='cpu'`` (mmengine >= 0.7.3).
    """
    default_prefix: Optional[str] = 'wsol'

    def __init__(self,
                 thresholds: Optional[Sequence[float]] = None,
                 threshold_step: Optional[float] = None,
                 iou_thresholds: Sequence[float] = (0.3, 0.5, 0.7),
                 multi_contour: Optional[bool] = None,
                 contour_mode: str = 'tree',
                 interpolation: Optional[str] = None,
                 gt_bbox_format: str = 'inclusive',
                 eval_size: Union[Tuple[int, int], str, None] = None,
                 size_buckets: Optional[Dict[str, Tuple[float, float]]] = None,
                 mask_ignore_index: Optional[int] = None,
                 empty_gt: str = 'error',
                 return_curves: bool = False,
                 protocol: str = 'reference',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.protocol = check_protocol(protocol)
        if multi_contour is None and protocol == 'legacy':
            multi_contour = True  # the legacy metric's default: all contours for every number
        if gt_bbox_format not in ('inclusive', 'exclusive'):
            raise ValueError(f"gt_bbox_format must be 'inclusive' or 'exclusive', got {gt_bbox_format!r}")
        if empty_gt not in ('error', 'skip'):
            raise ValueError(f"empty_gt must be 'error' or 'skip', got {empty_gt!r}")
        if threshold_step is None:
            threshold_step = default_threshold_step(protocol)
        grid = threshold_step if thresholds is None else thresholds
        self._box_cfg = dict(
            thresholds=grid,
            iou_thresholds=tuple(iou_thresholds),
            multi_contour=multi_contour,
            contour_mode=contour_mode,
            interpolation=interpolation,
            protocol=protocol)
        self._box_acc = BoxAccumulator(**self._box_cfg)  # validates the configuration
        self._box_cfg['thresholds'] = self._box_acc.thresholds
        self.thresholds = self._box_acc.thresholds
        self.interpolation = self._box_acc.interpolation
        self._pxap = PxAPAccumulator(self.thresholds, mask_ignore_index, self.interpolation, protocol)
        self.gt_bbox_format = gt_bbox_format
        if eval_size is None:
            eval_size = REFERENCE_EVAL_SIZE if protocol == 'reference' else 'original'
        if isinstance(eval_size, str):
            if eval_size != 'original':
                raise ValueError(f"eval_size must be (H, W), 'original' or None, got {eval_size!r}")
            eval_size = None
        else:
            eval_size = tuple(int(v) for v in eval_size)
            if len(eval_size) != 2 or min(eval_size) <= 0:
                raise ValueError(f'eval_size must be a positive (H, W), got {eval_size}')
        self.eval_size = eval_size  # None: evaluate at each sample's ori_shape
        self.empty_gt = empty_gt
        self.return_curves = bool(return_curves)
        self.size_buckets: Dict[str, Tuple[float, float]] = {}
        for name, bounds in (size_buckets or {}).items():
            lo, hi = (float(v) for v in bounds)
            if not lo < hi:
                raise ValueError(f'size bucket {name!r}: need lo < hi, got {bounds}')
            self.size_buckets[str(name)] = (lo, hi)

    # ------------------------------------------------------------------ per sample

    def _sample_cam(self, sample: Any, gt_label: Optional[int]) -> np.ndarray:
        cam = _field(sample, 'pred_cam')
        if cam is None:
            raise KeyError('WSOLMetric: data sample has no `pred_cam` (CAM of the GT class)')
        cam = _array(cam)
        if cam.ndim == 3:
            if cam.shape[0] == 1:
                cam = cam[0]
            elif gt_label is None:
                raise ValueError('WSOLMetric: a (C, H, W) `pred_cam` needs `gt_label` to pick the channel')
            elif not 0 <= gt_label < cam.shape[0]:
                raise ValueError(f'WSOLMetric: gt_label {gt_label} out of range for pred_cam of shape {cam.shape}')
            else:
                cam = cam[gt_label]
        if cam.ndim != 2:
            raise ValueError(f'WSOLMetric: `pred_cam` must be (H, W) or (C, H, W), got {cam.shape}')
        return cam

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Box-evaluate each sample now and keep only compact per-sample results."""
        for sample in data_samples:
            self.results.append(self._process_one(sample))

    def _process_one(self, sample: Any) -> Dict:
        gt_label = _label(_field(sample, 'gt_label'), 'gt_label')
        pred_label = _label(_field(sample, 'pred_label'), 'pred_label')
        if pred_label is None:
            score = _field(sample, 'pred_score')
            if score is not None and _array(score).size > 0:
                pred_label = int(np.argmax(_array(score).reshape(-1)))
        correct_top1 = None if gt_label is None or pred_label is None else pred_label == gt_label

        ori_shape = _field(sample, 'ori_shape')
        if ori_shape is None:
            raise KeyError('WSOLMetric: data sample has no `ori_shape` (evaluation size H, W)')
        ori_h, ori_w = (int(v) for v in tuple(ori_shape)[:2])
        height, width = self.eval_size if self.eval_size is not None else (ori_h, ori_w)

        boxes = _field(sample, 'gt_bboxes')
        if boxes is None:
            boxes = _field(sample, 'gt_instances.bboxes')
        boxes = None if boxes is None else _array(boxes).astype(np.float64).reshape(-1, 4)
        mask = _field(sample, 'gt_mask')
        if (boxes is None or len(boxes) == 0) and mask is None:
            if self.empty_gt == 'skip':
                return dict(skipped=True)
            raise ValueError('WSOLMetric: data sample has neither `gt_bboxes` nor `gt_mask` '
                             "(set empty_gt='skip' to ignore such samples)")

        cam = self._sample_cam(sample, gt_label)
        result: Dict[str, Any] = {}
        if boxes is not None and len(boxes) > 0:
            gt = check_gt_boxes(boxes).copy()
            if self.gt_bbox_format == 'exclusive':
                gt[:, 2:] -= 1
            if self.eval_size is not None:  # the protocol's GT resizing rule
                gt = self._box_acc.resize_gt(gt, (ori_h, ori_w), (height, width))
            ious = self._box_acc.image_ious(cam, gt, (height, width))
            hits = self._box_acc.hits_from_ious(ious)  # (2, D, T)
            result['hits'] = np.packbits(hits, axis=-1)
            result['top1'] = correct_top1
            clipped = clip_boxes(gt, (height, width))
            result['area_frac'] = float(box_area(clipped).max() / (height * width))
        if mask is not None:
            mask = _array(mask)
            if self.eval_size is not None:
                mask = mask.reshape(mask.shape[-2:])
                if mask.shape != (height, width):
                    mask = cv2.resize(mask.astype(np.float32), (width, height),
                                      interpolation=cv2.INTER_NEAREST)
            tp, fp, num_pos, num_neg = self._pxap.image_counts(cam, mask)
            result['pxap'] = (tp.astype(np.int32), fp.astype(np.int32), num_pos, num_neg)
        return result

    # ------------------------------------------------------------------ aggregation

    def _accumulate(self, results: List[Dict]) -> BoxAccumulator:
        acc = BoxAccumulator(**self._box_cfg)
        num = self.thresholds.size
        for r in results:
            acc.add_hits(np.unpackbits(r['hits'], axis=-1, count=num).astype(bool), r['top1'])
        return acc

    def compute_metrics(self, results: List[Dict]) -> Dict[str, Any]:
        metrics: Dict[str, Any] = {}
        box_results = [r for r in results if 'hits' in r]
        mask_results = [r for r in results if 'pxap' in r]
        num_skipped = sum(1 for r in results if r.get('skipped'))
        if box_results:
            res = self._accumulate(box_results).compute()
            curves = res.pop('curves')
            metrics.update(res)
            if 'Top-1_Loc' not in res:
                MMLogger.get_current_instance().warning(
                    'WSOLMetric: Top-1_Loc not reported: some samples lack `gt_label` or '
                    '`pred_label`/`pred_score`.')
            if self.return_curves:
                metrics.update({f'curve/{k}': v for k, v in curves.items()})
            for name, (lo, hi) in self.size_buckets.items():
                members = [r for r in box_results if lo < r['area_frac'] <= hi]
                metrics[f'{name}/num_samples'] = len(members)
                if not members:
                    continue
                sub = self._accumulate(members).compute(fixed_tau=res['best_tau'])
                for key in ('MaxBoxAccV2', 'GT-known_Loc', 'Top-1_Loc'):
                    if key in sub:
                        metrics[f'{name}/{key}'] = sub[key]
        if mask_results:
            pxap = PxAPAccumulator(self.thresholds, self._pxap.ignore_index, self._pxap.interpolation,
                                   self.protocol)
            for r in mask_results:
                pxap.add_counts(*r['pxap'])
            pres = pxap.compute()
            metrics['PxAP'] = pres['PxAP']
            metrics['PxAP_num_samples'] = pres['num_samples']
            if self.return_curves:
                metrics['curve/PxAP_precision'] = pres['curves']['precision']
                metrics['curve/PxAP_recall'] = pres['curves']['recall']
                metrics.setdefault('curve/tau', pres['curves']['tau'])
        if num_skipped:
            metrics['num_skipped'] = num_skipped
        return metrics
