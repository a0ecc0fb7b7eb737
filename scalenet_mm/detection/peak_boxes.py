"""Instance boxes from the local peaks of a class activation map, each peak normalised on its own.

Why not one global threshold: :func:`~scalenet_mm.detection.cam_to_boxes` min-max normalises the whole map and
keeps ``cam >= tau``. With two objects of one class, the weaker one's activation is often below ``tau`` times
the *stronger* one's peak and gets no box. Here every local maximum of the map is a candidate instance and is
thresholded relative to **its own** peak value.

Rule (for a map ``m`` min-max normalised over the image, so its floor is 0 and its strongest peak 1):

1. **Peaks**: the local maxima of ``m`` (``skimage.feature.peak_local_max``, at least ``min_distance`` pixels
   apart) whose value is above ``min_peak`` (a fraction of the strongest peak; weaker bumps are noise).
2. **Local normalisation**: the region of a peak ``p`` of value ``v_p`` is the 8-connected component
   (``scipy.ndimage.label``, the same connectivity as OpenCV's contours in :mod:`scalenet_mm.wsol`) of
   ``{m >= tau * v_p}`` that contains ``p``, i.e. the peak's own map ``m / v_p`` thresholded at ``tau``.
3. **De-duplication without NMS**: peaks are visited from the strongest down (ties: raster order). A peak whose
   region contains an instance kept before it is a shoulder of that stronger instance (the map does not dip
   below ``tau`` times the weaker peak between them) and yields no box. Regions are nested as the level
   drops, so a shoulder of a shoulder is caught too, and the regions of the kept peaks are pairwise disjoint
   (a stronger kept peak's region is cut at a higher level than the one that failed to connect the two): no
   IoU-based suppression is needed, although boxes may still overlap.
4. **Box and score**: the box is the bounding box of the region (inclusive pixels ``[x0, y0, x1, y1]``) and its
   score is ``class_score * mean(m inside the box)``: strong, compact activations rank first within an image,
   and across images the class score carries the classifier's confidence.

The strongest peak always yields a box (unless the map is constant), so every labelled class keeps at least one
box, as with :func:`~scalenet_mm.detection.cam_to_boxes`.
"""
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np

from scalenet_mm.utils.box_geometry import box_area
from scalenet_mm.wsol import prepare_cam

from .pseudo_boxes import xyxy_to_coco

__all__ = [
    'PeakBoxes', 'peak_instance_boxes', 'peak_boxes_at_thresholds', 'image_peak_boxes', 'peak_detections',
    'resolve_class_thresholds'
]


class PeakBoxes(NamedTuple):
    """Instances of one class map: ``boxes`` ``(K, 4)`` inclusive xyxy (float64), ``scores`` ``(K,)`` and the
    ``peaks`` ``(K, 2)`` ``(row, col)`` they grew from, strongest peak first."""
    boxes: np.ndarray
    scores: np.ndarray
    peaks: np.ndarray


def _empty() -> PeakBoxes:
    return PeakBoxes(np.zeros((0, 4), np.float64), np.zeros(0, np.float64), np.zeros((0, 2), np.int64))


def peak_instance_boxes(cam,
                        image_size: Optional[Sequence[int]] = None,
                        thr: float = 0.5,
                        min_peak: float = 0.2,
                        min_distance: int = 3,
                        class_score: float = 1.0,
                        min_area: float = 0.0,
                        max_instances: Optional[int] = None,
                        interpolation: str = 'bilinear') -> PeakBoxes:
    """One box per instance of a class map (see the module docstring for the rule).

    Args:
        cam: ``(h, w)`` map at network resolution (any scale).
        image_size: ``(H, W)`` to resize the map to before finding peaks (``None``: keep its size); boxes and
            ``min_distance`` are in pixels of that size.
        thr: local threshold ``tau`` in ``(0, 1]``: a peak's region is where the map is at least ``tau`` times
            the peak value.
        min_peak: peaks must exceed this fraction of the strongest peak, in ``[0, 1)``.
        min_distance: minimum distance between two peaks (``peak_local_max``'s Chebyshev distance), >= 1.
        class_score: the classifier's score of the class; multiplies every box score.
        min_area: drop boxes with fewer pixels than this (their peaks suppress nothing); the strongest peak's
            box is always kept.
        max_instances: keep at most this many boxes (the strongest instances).
        interpolation: resize interpolation (see :func:`scalenet_mm.wsol.prepare_cam`).
    """
    return peak_boxes_at_thresholds(cam, image_size, [thr], min_peak, min_distance, class_score, min_area,
                                    max_instances, interpolation)[0]


def peak_boxes_at_thresholds(cam,
                             image_size: Optional[Sequence[int]],
                             thresholds: Sequence[float],
                             min_peak: float = 0.2,
                             min_distance: int = 3,
                             class_score: float = 1.0,
                             min_area: float = 0.0,
                             max_instances: Optional[int] = None,
                             interpolation: str = 'bilinear') -> List[PeakBoxes]:
    """:func:`peak_instance_boxes` at several thresholds (one :class:`PeakBoxes` per ``tau``, in order).

    The resized map and its peaks do not depend on ``tau``; they are computed once, which makes threshold
    sweeps several times faster than calling :func:`peak_instance_boxes` per ``tau``.
    """
    from skimage.feature import peak_local_max

    taus = [float(t) for t in thresholds]
    bad = [t for t in taus if not 0.0 < t <= 1.0]
    if not taus or bad:
        raise ValueError(f'thr (the local threshold tau) must be in (0, 1], got {bad or taus}')
    if not 0.0 <= float(min_peak) < 1.0:
        raise ValueError(f'min_peak must be in [0, 1) (a fraction of the strongest peak), got {min_peak}')
    if int(min_distance) < 1:
        raise ValueError(f'min_distance must be >= 1 pixel, got {min_distance}')
    if max_instances is not None and int(max_instances) < 1:
        raise ValueError(f'max_instances must be >= 1 or None, got {max_instances}')
    norm = prepare_cam(cam, image_size, interpolation)  # floor 0, strongest peak exactly 1
    if not norm.any():
        return [_empty() for _ in taus]

    peaks = peak_local_max(norm, min_distance=int(min_distance), threshold_abs=float(min_peak),
                           exclude_border=False)
    if len(peaks) == 0:  # e.g. min_distance larger than the map: the global maximum is still an instance
        peaks = np.array([np.unravel_index(int(np.argmax(norm)), norm.shape)])
    values = norm[peaks[:, 0], peaks[:, 1]]
    order = np.lexsort((np.ravel_multi_index(peaks.T, norm.shape), -values))  # strongest first, then raster
    peaks, values = peaks[order], values[order]
    return [_grow(norm, peaks, values, tau, class_score, min_area, max_instances) for tau in taus]


def _grow(norm: np.ndarray, peaks: np.ndarray, values: np.ndarray, thr: float, class_score: float,
          min_area: float, max_instances: Optional[int]) -> PeakBoxes:
    """Regions, de-duplication, boxes and scores at one ``tau`` (steps 2-4 of the module docstring)."""
    from scipy import ndimage

    eight = np.ones((3, 3), dtype=bool)
    kept: List[int] = []
    boxes: List[List[int]] = []
    # Union of the regions of kept peaks and shoulders: a weaker peak inside it has a region (cut at a lower
    # level) that contains that region, hence a kept peak, so it is a shoulder without labelling the map again.
    covered = np.zeros(norm.shape, dtype=bool)
    for k, ((row, col), value) in enumerate(zip(peaks, values)):
        if covered[row, col]:
            continue
        labels, _ = ndimage.label(norm >= thr * value, structure=eight)
        own = labels[row, col]
        if kept and np.any(labels[peaks[kept, 0], peaks[kept, 1]] == own):
            covered |= labels == own
            continue  # a shoulder of a stronger instance
        rows, cols = ndimage.find_objects(labels, max_label=own)[own - 1]
        box = [cols.start, rows.start, cols.stop - 1, rows.stop - 1]
        if kept and box_area(box) < float(min_area):
            continue
        covered |= labels == own
        kept.append(k)
        boxes.append(box)
        if max_instances is not None and len(kept) == int(max_instances):
            break
    boxes = np.asarray(boxes, dtype=np.float64)
    scores = np.array([float(class_score) * norm[int(y0):int(y1) + 1, int(x0):int(x1) + 1].mean()
                       for x0, y0, x1, y1 in boxes], dtype=np.float64)
    return PeakBoxes(boxes, scores, peaks[kept].astype(np.int64))


def resolve_class_thresholds(thr: Union[float, Mapping[int, float]], category_ids: Sequence[int]) -> Dict[int, float]:
    """``{category_id: tau}`` from one ``tau`` for all classes or a per-class mapping (e.g. the output of
    :func:`scalenet_mm.detection.choose_class_thresholds`); a class missing from the mapping is an error."""
    if isinstance(thr, Mapping):
        missing = [int(c) for c in category_ids if int(c) not in {int(k) for k in thr}]
        if missing:
            raise ValueError(f'no threshold for categories {missing}; choose them on the selection split '
                             '(choose_class_thresholds) or pass one float for every class')
        return {int(k): float(v) for k, v in thr.items()}
    return {int(c): float(thr) for c in category_ids}


def image_peak_boxes(cams,
                     category_ids: Sequence[int],
                     image_size: Optional[Sequence[int]],
                     thr: Union[float, Mapping[int, float]] = 0.5,
                     classes: Optional[Sequence[int]] = None,
                     scores=None,
                     **kwargs) -> Dict[int, PeakBoxes]:
    """Peak boxes of several classes of one image: ``{category_id: PeakBoxes}``.

    Args:
        cams: ``(C, h, w)`` maps, channel ``c`` of category ``category_ids[c]``.
        category_ids: COCO category id of every channel.
        image_size: ``(H, W)`` of the original image.
        thr: one ``tau`` or ``{category_id: tau}``.
        classes: category ids to box (e.g. an image's image-level labels); ``None``: every channel.
        scores: ``(C,)`` class scores (multiply the box scores); ``None``: 1.
        kwargs: forwarded to :func:`peak_instance_boxes`.
    """
    cams = np.asarray(cams.detach().cpu() if hasattr(cams, 'detach') else cams, dtype=np.float64)
    category_ids = [int(c) for c in category_ids]
    if cams.ndim != 3 or cams.shape[0] != len(category_ids):
        raise ValueError(f'cams must be (C, h, w) with C = len(category_ids) = {len(category_ids)}, '
                         f'got shape {cams.shape}')
    if scores is not None:
        scores = np.asarray(scores.detach().cpu() if hasattr(scores, 'detach') else scores,
                            dtype=np.float64).reshape(-1)
        if scores.shape[0] != len(category_ids):
            raise ValueError(f'scores must have one value per category ({len(category_ids)}), got {scores.shape}')
    index = {c: i for i, c in enumerate(category_ids)}
    wanted = category_ids if classes is None else [int(c) for c in classes]
    unknown = [c for c in wanted if c not in index]
    if unknown:
        raise ValueError(f'categories {unknown} have no CAM channel (category_ids = {category_ids})')
    taus = resolve_class_thresholds(thr, wanted)
    out = {}
    for cat in wanted:
        i = index[cat]
        out[cat] = peak_instance_boxes(cams[i], image_size, thr=taus[cat],
                                       class_score=1.0 if scores is None else scores[i], **kwargs)
    return out


def peak_detections(image_id: int,
                    cams,
                    scores,
                    category_ids: Sequence[int],
                    image_size: Sequence[int],
                    thr: Union[float, Mapping[int, float]] = 0.5,
                    score_thr: float = 0.0,
                    topk: Optional[int] = None,
                    **kwargs) -> List[Dict]:
    """COCO result entries of one image from its peak boxes, each with its own score.

    The classes whose score is at least ``score_thr`` (and among the ``topk`` best, when given) are boxed; the
    result ``score`` of a box is ``class score * mean map inside it`` (:func:`peak_instance_boxes`), so boxes of
    one class and image are ranked, unlike :func:`~scalenet_mm.detection.cam_detections`.
    """
    scores = np.asarray(scores.detach().cpu() if hasattr(scores, 'detach') else scores, dtype=np.float64)
    scores = scores.reshape(-1)
    order = np.argsort(-scores, kind='stable')
    if topk is not None:
        order = order[:topk]
    classes = [int(category_ids[c]) for c in order if scores[c] >= score_thr]
    per_class = image_peak_boxes(cams, category_ids, image_size, thr, classes=classes, scores=scores, **kwargs)
    results = []
    for cat in classes:
        for box, score in zip(per_class[cat].boxes, per_class[cat].scores):
            results.append(dict(image_id=int(image_id), category_id=cat, bbox=xyxy_to_coco(box),
                                score=float(score)))
    return results
