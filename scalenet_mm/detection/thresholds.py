"""Per-class CAM thresholds chosen on the box-labelled selection split, and the threshold diagnostic.

The weak pipeline may read true boxes in exactly one place: the small *selection* split, whose boxes choose the
CAM threshold ``tau`` of every class. To make a leak of train or test boxes impossible by construction,
:func:`choose_class_thresholds` does not accept annotation dicts: it takes a :class:`SelectionBoxes`, which can
only be built from a COCO file (or dict) whose ``info["split"]`` is ``"selection"``, or from the file the data
layouts write for the selection split (``instances_selection2017.json``). Anything else is refused with an error
that names the file.

:func:`threshold_diagnostic` then asks where pseudo-box recall is lost (on any split, since it chooses
nothing): recall with the chosen ``tau`` of each class against recall when every ``(image, class)`` pair may
use its own best ``tau`` of the grid (an oracle). A low oracle recall means the CAM does not hold the objects; a
high oracle recall with a low chosen-``tau`` recall means the threshold loses them. :func:`choose_cam_source`
uses the same selection-split measurement to pick the CAM source (e.g. the feature level) that localises best.
"""
import json
import os.path as osp
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .corloc import matched_count
from .peak_boxes import peak_boxes_at_thresholds, resolve_class_thresholds
from .pseudo_boxes import image_level_labels, xyxy_to_coco

__all__ = [
    'SELECTION_SPLIT', 'SelectionBoxes', 'default_tau_grid', 'threshold_sweep', 'choose_class_thresholds',
    'choose_cam_source', 'threshold_diagnostic'
]

#: the ``info["split"]`` tag of the only annotation file whose boxes may choose thresholds
SELECTION_SPLIT = 'selection'

#: ``box_fn(cam (h, w), image_size (H, W), tau) -> (K, 4) inclusive xyxy boxes``
BoxFn = Callable[[np.ndarray, Tuple[int, int], float], np.ndarray]
Pair = Tuple[int, int]


def default_tau_grid() -> np.ndarray:
    """``0.05, 0.10, ..., 0.95``: the local thresholds tried for every class."""
    return np.round(np.arange(1, 20) * 0.05, 2)


#: ``(cam (h, w), image_size, taus) -> [(K, 4) boxes per tau]``: what the sweeps call
MultiBoxFn = Callable[[np.ndarray, Tuple[int, int], np.ndarray], List[np.ndarray]]


def _multi_box_fn(box_fn: Optional[BoxFn], peak_kwargs: Mapping) -> MultiBoxFn:
    """Boxes at every ``tau`` of a grid: the peak rule shares its peaks across ``tau``; a custom ``box_fn`` is
    called once per ``tau``."""
    if box_fn is None:
        def peaks_at(cam, image_size, taus):
            return [r.boxes for r in peak_boxes_at_thresholds(cam, image_size, taus, **peak_kwargs)]
        return peaks_at
    if peak_kwargs:
        raise ValueError(f'peak_kwargs {sorted(peak_kwargs)} only apply to the default box_fn')
    return lambda cam, image_size, taus: [box_fn(cam, image_size, float(t)) for t in taus]


class SelectionBoxes:
    """The true boxes of the selection split (read-only), the only boxes thresholds may be chosen on.

    Build it with :meth:`from_coco`; the constructor is private to that check.
    """

    def __init__(self, coco: Mapping, source: str, _token: object = None):
        if _token is not _BUILD_TOKEN:
            raise TypeError('build SelectionBoxes with SelectionBoxes.from_coco(path_or_dict), which checks that '
                            f'the file is the {SELECTION_SPLIT!r} split')
        self.source = source
        self.image_sizes: Dict[int, Tuple[int, int]] = {
            int(img['id']): (int(img['height']), int(img['width'])) for img in coco['images']}
        self.category_ids: List[int] = sorted(int(c['id']) for c in coco['categories'])
        self.labels: Dict[int, List[int]] = image_level_labels(coco)
        boxes: Dict[Pair, List[List[float]]] = {}
        for ann in coco['annotations']:
            boxes.setdefault((int(ann['image_id']), int(ann['category_id'])), []).append(
                [float(v) for v in ann['bbox']])
        self._boxes = boxes

    @classmethod
    def from_coco(cls, coco: Union[str, Mapping]) -> 'SelectionBoxes':
        """Load the selection split from a COCO path or dict; refuse anything not marked as the selection split.

        The mark is ``info["split"] == "selection"``, or, for a path without that tag, the file name the data
        layouts give the selection split (``instances_selection2017.json``, see
        :mod:`scalenet_mm.datasets.layouts`). A tag and a file name that disagree are refused too.
        """
        source = coco if isinstance(coco, str) else '<dict>'
        if isinstance(coco, str):
            with open(coco, encoding='utf-8') as f:
                coco = json.load(f)
        info = coco.get('info')
        tag = info.get('split') if isinstance(info, Mapping) else None
        named = _split_of_file_name(source) if source != '<dict>' else None
        name = osp.basename(source) if source != '<dict>' else 'the annotation dict'
        if tag is not None and named is not None and tag != named:
            raise ValueError(f'{name} is named as the {named!r} split but tagged info["split"] = {tag!r}; fix the '
                             'file before choosing thresholds on it')
        split = tag if tag is not None else named
        if split != SELECTION_SPLIT:
            found = ('has no info["split"] tag and is not named as a split' if split is None else
                     f'is tagged info["split"] = {tag!r}' if tag is not None else f'is the {named!r} split file')
            raise ValueError(f'{name} {found}: CAM thresholds may only be chosen on the box-labelled '
                             f'{SELECTION_SPLIT!r} split (reading train or test boxes here would leak them into '
                             f'the weak pipeline). Pass the selection split\'s annotation file '
                             f'({_SELECTION_FILE}, or any file whose info["split"] is {SELECTION_SPLIT!r}).')
        return cls(coco, source, _BUILD_TOKEN)

    def true_bboxes(self, image_id: int, category_id: int) -> List[List[float]]:
        """COCO ``[x, y, w, h]`` true boxes of one pair (a copy)."""
        return [list(b) for b in self._boxes.get((int(image_id), int(category_id)), [])]

    def pairs(self) -> List[Pair]:
        """The labelled ``(image_id, category_id)`` pairs, sorted."""
        return sorted((img, cat) for img, cats in self.labels.items() for cat in cats)

    def __len__(self) -> int:
        return len(self.image_sizes)

    def __repr__(self) -> str:
        return f'SelectionBoxes({self.source!r}, {len(self)} images, {len(self._boxes)} labelled pairs)'


_BUILD_TOKEN = object()


def _coco_split_files() -> Dict[str, str]:
    from scalenet_mm.datasets.layouts import SPLIT_FOLDERS
    return {f'instances_{folder}.json': split for split, folder in SPLIT_FOLDERS['coco'].items()}


_SELECTION_FILE = {v: k for k, v in _coco_split_files().items()}[SELECTION_SPLIT]


def _split_of_file_name(path: str) -> Optional[str]:
    """The split a data-layout COCO file name stands for (``instances_train2017.json`` -> ``'train'``)."""
    return _coco_split_files().get(osp.basename(path))


def _as_cam_stack(cam, category_ids: Sequence[int]) -> np.ndarray:
    arr = np.asarray(cam.detach().cpu() if hasattr(cam, 'detach') else cam, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[0] != len(category_ids):
        raise ValueError(f'each CAM entry must be (C, h, w) with C = len(category_ids) = {len(category_ids)}, '
                         f'got shape {arr.shape}')
    return arr


def _pair_counts(pairs: Sequence[Pair], truth: Callable[[int, int], List[List[float]]],
                 image_sizes: Mapping[int, Tuple[int, int]], cams: Mapping[int, np.ndarray],
                 category_ids: Sequence[int], taus: np.ndarray, boxes_at: MultiBoxFn,
                 iou_thr: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(tp (P, T), n_pred (P, T), n_true (P,))`` of every pair at every ``tau``."""
    index = {int(c): i for i, c in enumerate(category_ids)}
    tp = np.zeros((len(pairs), len(taus)), dtype=np.int64)
    n_pred = np.zeros_like(tp)
    n_true = np.zeros(len(pairs), dtype=np.int64)
    stacks = {}
    for p, (image_id, cat) in enumerate(pairs):
        if cat not in index:
            raise ValueError(f'category {cat} of image {image_id} has no CAM channel (category_ids = '
                             f'{list(category_ids)})')
        if image_id not in stacks:
            stacks[image_id] = _as_cam_stack(cams[image_id], category_ids)
        true = truth(image_id, cat)
        n_true[p] = len(true)
        for t, boxes in enumerate(boxes_at(stacks[image_id][index[cat]], image_sizes[image_id], taus)):
            pred = [xyxy_to_coco(b) for b in boxes]
            n_pred[p, t] = len(pred)
            tp[p, t] = matched_count(true, pred, iou_thr)
    return tp, n_pred, n_true


def _check_cams(cams: Mapping, image_ids: Sequence[int], what: str) -> Dict[int, object]:
    cams = {int(k): v for k, v in cams.items()}
    missing = sorted(set(image_ids) - set(cams))
    extra = sorted(set(cams) - set(image_ids))
    if missing:
        raise ValueError(f'no CAMs for {len(missing)} images of {what} (e.g. {missing[:5]}); compute CAMs for '
                         'every image of it')
    if extra:
        raise ValueError(f'CAMs given for {len(extra)} images that are not in {what} (e.g. {extra[:5]}); pass the '
                         'CAMs of its images only')
    return cams


def threshold_sweep(selection: SelectionBoxes,
                    cams: Mapping[int, np.ndarray],
                    category_ids: Sequence[int],
                    taus: Optional[Sequence[float]] = None,
                    box_fn: Optional[BoxFn] = None,
                    iou_thr: float = 0.5,
                    **peak_kwargs) -> Dict[int, Dict[str, np.ndarray]]:
    """Pseudo-box recall, precision and F1 of every class at every ``tau``, on the selection split.

    Args:
        selection: the selection split (:meth:`SelectionBoxes.from_coco`); nothing else is accepted.
        cams: ``{image_id: (C, h, w) maps}`` for every selection image (channel ``c`` = ``category_ids[c]``).
        category_ids: category id of every CAM channel.
        taus: thresholds to try (default :func:`default_tau_grid`).
        box_fn: ``(cam, image_size, tau) -> (K, 4) inclusive xyxy boxes``; default: :func:`peak_instance_boxes`
            with ``peak_kwargs``.
        iou_thr: IoU for a pseudo-box to match a true box.

    Returns:
        ``{category_id: {'tau', 'recall', 'precision', 'f1'}}`` (arrays over ``taus``) for the classes that
        occur in the selection split; pseudo-boxes are made only for the classes each image is labelled with,
        as on the training images.
    """
    if not isinstance(selection, SelectionBoxes):
        raise TypeError(f'thresholds are chosen on the selection split only: pass SelectionBoxes.from_coco('
                        f'<selection annotation file>), not a {type(selection).__name__} (raw annotation dicts '
                        'are refused so that train or test boxes cannot choose thresholds)')
    taus = np.asarray(default_tau_grid() if taus is None else taus, dtype=np.float64).reshape(-1)
    if taus.size == 0 or np.any((taus <= 0) | (taus > 1)):
        raise ValueError(f'taus must be a non-empty list of values in (0, 1], got {taus.tolist()}')
    boxes_at = _multi_box_fn(box_fn, peak_kwargs)
    cams = _check_cams(cams, list(selection.image_sizes), f'the selection split ({selection.source})')
    pairs = selection.pairs()
    tp, n_pred, n_true = _pair_counts(pairs, selection.true_bboxes, selection.image_sizes, cams, category_ids,
                                      taus, boxes_at, iou_thr)
    out = {}
    pair_cats = np.array([cat for _, cat in pairs], dtype=np.int64)
    for cat in sorted(set(pair_cats.tolist())):
        rows = pair_cats == cat
        tps, preds, trues = tp[rows].sum(0), n_pred[rows].sum(0), n_true[rows].sum()
        recall = tps / trues if trues else np.zeros(len(taus))
        precision = np.divide(tps, preds, out=np.zeros(len(taus)), where=preds > 0)
        f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(len(taus)),
                       where=(precision + recall) > 0)
        out[cat] = dict(tau=taus.copy(), recall=recall, precision=precision, f1=f1)
    return out


def choose_class_thresholds(selection: SelectionBoxes,
                            cams: Mapping[int, np.ndarray],
                            category_ids: Sequence[int],
                            taus: Optional[Sequence[float]] = None,
                            criterion: str = 'f1',
                            fallback_tau: Optional[float] = None,
                            box_fn: Optional[BoxFn] = None,
                            iou_thr: float = 0.5,
                            **peak_kwargs) -> Dict[int, float]:
    """``{category_id: tau}``: for every class, the ``tau`` of the grid with the best ``criterion`` on the selection
    split (see :func:`threshold_sweep` for the arguments).

    Args:
        criterion: ``'f1'`` (default: pseudo-boxes must be both found and right) or ``'recall'``. Ties go to the
            smallest ``tau`` of the grid.
        fallback_tau: ``tau`` of the classes of ``category_ids`` that never occur in the selection split; ``None``
            (default) makes such a class an error, since nothing measured its threshold.
    """
    if criterion not in ('f1', 'recall'):
        raise ValueError(f"criterion must be 'f1' or 'recall', got {criterion!r}")
    sweep = threshold_sweep(selection, cams, category_ids, taus, box_fn, iou_thr, **peak_kwargs)
    chosen = {}
    for cat in (int(c) for c in category_ids):
        if cat not in sweep:
            if fallback_tau is None:
                raise ValueError(f'category {cat} does not occur in the selection split ({selection.source}), so '
                                 'no threshold can be chosen for it; add examples of it to the selection split '
                                 'or pass fallback_tau')
            chosen[cat] = float(fallback_tau)
            continue
        row = sweep[cat]
        chosen[cat] = float(row['tau'][int(np.argmax(row[criterion]))])
    return chosen


def choose_cam_source(selection: SelectionBoxes,
                      cams_by_source: Mapping[str, Mapping[int, np.ndarray]],
                      category_ids: Sequence[int],
                      taus: Optional[Sequence[float]] = None,
                      criterion: str = 'f1',
                      box_fn: Optional[BoxFn] = None,
                      iou_thr: float = 0.5,
                      **peak_kwargs) -> Tuple[str, Dict[str, float]]:
    """Which CAM source (e.g. feature level) localises best on the selection split.

    Every source is scored by the mean over classes of its ``criterion`` at each class's best ``tau`` (what
    :func:`choose_class_thresholds` would pick), so a source is compared at its own thresholds.

    Returns:
        ``(best source name, {source name: score})``; ties go to the first source in ``cams_by_source``.
    """
    if criterion not in ('f1', 'recall'):
        raise ValueError(f"criterion must be 'f1' or 'recall', got {criterion!r}")
    if not cams_by_source:
        raise ValueError('cams_by_source is empty: give {source name: {image_id: (C, h, w) maps}}')
    scores = {}
    for name, cams in cams_by_source.items():
        sweep = threshold_sweep(selection, cams, category_ids, taus, box_fn, iou_thr, **peak_kwargs)
        scores[name] = float(np.mean([row[criterion].max() for row in sweep.values()])) if sweep else 0.0
    best = max(scores, key=lambda k: scores[k])  # first maximum in insertion order
    return best, scores


def threshold_diagnostic(gt: Mapping,
                         cams: Mapping[int, np.ndarray],
                         category_ids: Sequence[int],
                         class_thresholds: Union[float, Mapping[int, float]],
                         taus: Optional[Sequence[float]] = None,
                         box_fn: Optional[BoxFn] = None,
                         iou_thr: float = 0.5,
                         **peak_kwargs) -> Dict:
    """Pseudo-box recall at the chosen ``tau`` vs at the per-image best ``tau`` (an oracle that chooses nothing).

    Args:
        gt: true COCO annotation dict of the images of ``cams`` (any split: this only measures).
        cams: ``{image_id: (C, h, w)}`` for every image of ``gt``.
        class_thresholds: the chosen ``{category_id: tau}`` (or one ``tau``).
        taus: the grid the oracle picks from (default :func:`default_tau_grid`).
        box_fn / iou_thr / peak_kwargs: as in :func:`threshold_sweep`.

    Returns:
        ``{'recall_at_chosen', 'recall_at_best', 'num_true', 'per_class': {cat: {'recall_at_chosen',
        'recall_at_best', 'num_true'}}}``. For each labelled ``(image, class)`` pair the oracle counts the true
        boxes matched at the ``tau`` of the grid that matches most of them.
    """
    taus = np.asarray(default_tau_grid() if taus is None else taus, dtype=np.float64).reshape(-1)
    boxes_at = _multi_box_fn(box_fn, peak_kwargs)
    image_sizes = {int(img['id']): (int(img['height']), int(img['width'])) for img in gt['images']}
    cams = _check_cams(cams, list(image_sizes), 'the true annotation file')
    truth: Dict[Pair, List[List[float]]] = {}
    for ann in gt['annotations']:
        truth.setdefault((int(ann['image_id']), int(ann['category_id'])), []).append(list(ann['bbox']))
    pairs = sorted(truth)
    chosen = resolve_class_thresholds(class_thresholds, sorted({cat for _, cat in pairs}))

    def true_of(image_id, cat):
        return truth[(image_id, cat)]

    tp_grid, _, n_true = _pair_counts(pairs, true_of, image_sizes, cams, category_ids, taus, boxes_at, iou_thr)
    tp_chosen = np.zeros(len(pairs), dtype=np.int64)
    for p, (image_id, cat) in enumerate(pairs):  # the chosen tau need not be on the grid
        tp_chosen[p] = _pair_counts([(image_id, cat)], true_of, image_sizes, cams, category_ids,
                                    np.array([chosen[cat]]), boxes_at, iou_thr)[0][0, 0]
    tp_best = tp_grid.max(axis=1) if len(pairs) else np.zeros(0, dtype=np.int64)
    tp_best = np.maximum(tp_best, tp_chosen)  # the oracle may also pick the chosen tau

    def summary(rows):
        total = int(n_true[rows].sum())
        return dict(recall_at_chosen=float(tp_chosen[rows].sum() / total) if total else 0.0,
                    recall_at_best=float(tp_best[rows].sum() / total) if total else 0.0, num_true=total)

    pair_cats = np.array([cat for _, cat in pairs], dtype=np.int64)
    out = summary(np.ones(len(pairs), dtype=bool))
    out['per_class'] = {cat: summary(pair_cats == cat) for cat in sorted(set(pair_cats.tolist()))}
    return out
