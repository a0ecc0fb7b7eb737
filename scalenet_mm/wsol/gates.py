"""The two gates a WSOL data set must pass before its numbers say anything about learning.

* **No-learning gate**: no image-only control (:mod:`scalenet_mm.wsol.controls`) may beat the content-free
  priors by more than ``margin`` (default 5) MaxBoxAccV2 points: every control
  ``<= max(centre_gaussian, full_image_box) + margin``. If a saturation or contrast map localises the objects,
  the data is a saliency task and a CAM's score cannot be credited to the classifier.
* **Learnability gate**: a trained model must beat the best control by at least ``margin`` (default 20)
  points: ``model >= max(controls) + margin``. Pass the untrained twins of the networks (same method, layer
  and fusion) among the controls when they are measured; they are controls too.

The gate functions take MaxBoxAccV2 values (percentages) and return a :class:`GateVerdict` that keeps the
numbers. :func:`evaluate_controls` scores every control on a data split with the package's metric
(:class:`~scalenet_mm.wsol.BoxAccumulator`, default protocol), exactly as a CAM would be scored.
"""
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, Iterable, Iterator, Mapping, Optional, Sequence, Tuple

import numpy as np

from .controls import BASELINE_CONTROLS, CONTROLS
from .localization_metrics import BoxAccumulator

__all__ = ['GateVerdict', 'NO_LEARNING_MARGIN', 'LEARNABILITY_MARGIN', 'no_learning_gate', 'learnability_gate',
           'evaluate_controls', 'cub_split_samples', 'evaluate_controls_on_cub']

NO_LEARNING_MARGIN = 5.0
LEARNABILITY_MARGIN = 20.0


@dataclass
class GateVerdict:
    """Outcome of a gate: ``passed``, the ``bound`` it applied, every score it looked at, and the failures."""
    gate: str
    passed: bool
    bound: float
    scores: Dict[str, float]
    failures: Dict[str, float] = field(default_factory=dict)
    rule: str = ''

    def to_dict(self) -> Dict:
        return asdict(self)

    def __str__(self) -> str:
        status = 'PASSED' if self.passed else 'FAILED'
        listed = ', '.join(f'{k} {v:.1f}' for k, v in self.scores.items())
        text = f'{self.gate} gate {status}: {self.rule} (bound {self.bound:.1f}); {listed}'
        if self.failures:
            text += '; failing: ' + ', '.join(f'{k} {v:.1f}' for k, v in self.failures.items())
        return text


def _scores(values: Mapping[str, float], what: str) -> Dict[str, float]:
    if not values:
        raise ValueError(f'{what}: need at least one score')
    out = {}
    for name, value in values.items():
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f'{what}: score of {name!r} is {value}; every score must be a finite MaxBoxAccV2')
        out[str(name)] = value
    return out


def no_learning_gate(control_scores: Mapping[str, float], margin: float = NO_LEARNING_MARGIN,
                     baselines: Sequence[str] = BASELINE_CONTROLS) -> GateVerdict:
    """Every control ``<= max(baselines) + margin`` (MaxBoxAccV2 points).

    Args:
        control_scores: ``{control name: MaxBoxAccV2}``; must include every name in ``baselines``.
        margin: allowed advantage over the best content-free prior.
        baselines: the content-free priors (default centre Gaussian and full-image box).
    """
    scores = _scores(control_scores, 'no_learning_gate')
    missing = [b for b in baselines if b not in scores]
    if missing:
        raise ValueError(f'no_learning_gate: control_scores lacks the baseline(s) {missing}; evaluate them with '
                         f'evaluate_controls (names: {list(CONTROLS)})')
    bound = max(scores[b] for b in baselines) + float(margin)
    failures = {k: v for k, v in scores.items() if k not in baselines and v > bound}
    rule = f'every control <= max({", ".join(baselines)}) + {margin:g}'
    return GateVerdict('no-learning', not failures, bound, scores, failures, rule)


def learnability_gate(model_scores: Mapping[str, float], control_scores: Mapping[str, float],
                      margin: float = LEARNABILITY_MARGIN) -> GateVerdict:
    """Every model ``>= max(control_scores) + margin`` (MaxBoxAccV2 points).

    Args:
        model_scores: ``{model name: MaxBoxAccV2}`` of the trained models.
        control_scores: ``{control name: MaxBoxAccV2}``: the image-only controls and, where measured, the
            untrained twins of the models.
        margin: required advantage over the best control.
    """
    models = _scores(model_scores, 'learnability_gate (model_scores)')
    controls = _scores(control_scores, 'learnability_gate (control_scores)')
    best = max(controls, key=controls.get)
    bound = controls[best] + float(margin)
    failures = {k: v for k, v in models.items() if v < bound}
    rule = f'every model >= best control ({best}) + {margin:g}'
    return GateVerdict('learnability', not failures, bound, {**models, **controls}, failures, rule)


def evaluate_controls(samples: Iterable[Tuple[np.ndarray, np.ndarray]],
                      controls: Optional[Mapping[str, Callable[[np.ndarray], np.ndarray]]] = None,
                      **accumulator_kwargs) -> Dict[str, Dict]:
    """Score every control on ``samples`` with the package's box metric.

    Args:
        samples: ``(image, gt_boxes)`` pairs: ``(H, W, 3)`` uint8 RGB image, ``(M, 4)`` inclusive xyxy boxes.
        controls: ``{name: image -> map}``; default :data:`~scalenet_mm.wsol.controls.CONTROLS`.
        **accumulator_kwargs: passed to :class:`~scalenet_mm.wsol.BoxAccumulator` (default: its default
            protocol, as for CAMs).

    Returns:
        ``{name: BoxAccumulator.compute() result}`` (``MaxBoxAccV2``, ``MaxBoxAcc``, ``best_tau``, ...).
    """
    controls = dict(CONTROLS if controls is None else controls)
    accs = {name: BoxAccumulator(**accumulator_kwargs) for name in controls}
    for image, boxes in samples:
        image = np.asarray(image)
        for name, fn in controls.items():
            accs[name].update(fn(image), boxes, image.shape[:2])
    if not all(acc.num_samples for acc in accs.values()):
        raise ValueError('evaluate_controls: no samples')
    return {name: acc.compute() for name, acc in accs.items()}


def cub_split_samples(data_root: str, split: str = 'test') -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """``(RGB image, GT boxes)`` of a CUB-200-2011-layout split (``'train'``, ``'test'`` or ``'selection'``),
    read as the test pipeline reads them (mmcv, RGB)."""
    import mmcv

    from scalenet_mm.datasets import CUBWithBoxes

    dataset = CUBWithBoxes(data_root=data_root, split=split, with_mask=False, pipeline=[])
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        image = mmcv.imread(info['img_path'], channel_order='rgb')
        if image is None:
            raise FileNotFoundError(f'cannot read {info["img_path"]} listed in {osp.join(data_root, "images.txt")}')
        yield image, info['gt_bboxes']


def evaluate_controls_on_cub(data_root: str, split: str = 'test', **kwargs) -> Dict[str, Dict]:
    """:func:`evaluate_controls` on a CUB-layout split (see :func:`cub_split_samples`)."""
    return evaluate_controls(cub_split_samples(data_root, split), **kwargs)
