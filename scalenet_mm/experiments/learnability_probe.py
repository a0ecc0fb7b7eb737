"""Learnability probe: screen a benchmark-v2 generator design against both gates in minutes.

Issue #12 asks for a data set that the no-learning controls fail *and* a small trained ScaleNet solves (top-1
>= 85 %, MaxBoxAccV2 >= best control + 20). Each generator design (the module constants of
:mod:`scalenet_mm.datasets.localization_benchmark`: appearance pool, camouflage, clutter, sizes, ...) must be
checked against both, and through the Runner a check costs a data set on disk and a full training run. This probe
renders the samples in memory, scores the controls with the package metric (:func:`~scalenet_mm.wsol.gates.
evaluate_controls`, reference protocol), trains the backbone with a plain PyTorch loop and scores its classic CAM
with the same metric. It is a pre-screen for designs, not a source of published numbers: the experiment of
``docs/wsol_experiment.md`` trains through mmengine's Runner with the configs; a design only graduates there.
A plain loop is used because the Runner needs the samples written in a standard layout first, which for a
screen of many designs costs more than the training itself.

Besides ScaleNet presets and named archs, ``arch`` takes the reference learners of :data:`REFERENCE_BACKBONES`:
the experiment's baselines (mmpretrain ResNet-18 at ``base_channels=16``, ~0.7 M parameters like ``wsol-d8``,
and its stride-8 dilated twin) and a plain VGG-like CNN (:func:`plain_cnn`). When a design is not learned, they
tell a data set that nothing small learns from a backbone that learns it slowly.

After training, the probe scores several CAM sources (:data:`LIBRARY_CAM_SOURCES`: the head's classic CAM and
pytorch-grad-cam methods at the last and the stride-4 level, where the learner has them) on a box-labelled
*selection* split rendered like the test split, picks the best one there, and puts only that choice through the
learnability gate, as the experiment's protocol does; the test scores of every source are kept for diagnosis.

Results are appended to a JSON file keyed by the run's parameters, so that an interrupted screen resumes and a
repeated run is not recomputed.
"""
import contextlib
import hashlib
import json
import math
import os
import os.path as osp
import time
from typing import Callable, Dict, Iterator, Mapping, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from scalenet_mm.datasets import localization_benchmark as bench
from scalenet_mm.deploy.model_builder import IMAGENET_MEAN, IMAGENET_STD
from scalenet_mm.engine.atomic_io import atomic_write_text
from scalenet_mm.wsol import BoxAccumulator
from scalenet_mm.wsol.gates import evaluate_controls, learnability_gate, no_learning_gate

__all__ = [
    'DEFAULT_ARCH', 'LIBRARY_CAM_SOURCES', 'MULTI_SCALE_FACTORS', 'SIZE_BUCKETS', 'TUNABLE', 'REFERENCE_BACKBONES',
    'generator_overrides', 'ProbeModel', 'plain_cnn', 'probe', 'run_key', 'run_probe', 'results_table'
]

#: The learner a probe trains unless told otherwise (the small ScaleNet of ``configs/wsol/scalenet_demo_cub.py``);
#: rows stored before the probe recorded ``arch`` were trained with it.
DEFAULT_ARCH = 'wsol-d8'

#: pytorch-grad-cam sources the probe tries besides the classic CAM: name -> (method, feature level); level 1 is
#: the first stage (stride 4: ScaleNet's ``stage1``, ResNet's ``layer1``), -1 the last level. A learner that
#: publishes no levels (the plain CNN) is scored with its classic CAM only.
LIBRARY_CAM_SOURCES: Dict[str, tuple] = {
    'layercam@last': ('layercam', -1), 'layercam@stride4': ('layercam', 1), 'gradcam@last': ('gradcam', -1),
}

#: Input-size factors of the multi-scale fusion sources: every library source also runs as ``<name>+ms-mean``,
#: the pixel-wise mean of its per-image normalised maps at these multiples of the training size
#: (:class:`~scalenet_mm.wsol.MultiScaleCAM`; larger inputs give finer maps of small objects, the training size
#: keeps the extent of large ones).
MULTI_SCALE_FACTORS = (1.0, 1.5, 2.0)

#: Object-size buckets of the diagnosis (upper bounds of the longer box side as a fraction of the image side).
SIZE_BUCKETS = {'small': 0.35, 'medium': 0.6, 'large': 1.01}

#: Module constants of the generator a probe may override (name -> the type its value must have).
TUNABLE: Dict[str, type] = {
    'APPEARANCE_PROBS': tuple, 'MIN_SIDE': float, 'MAX_SIDE': float, 'MIN_CONTRAST': float, 'CAMOUFLAGE': float,
    'MIN_VISIBLE': float, 'DISTRACTOR_SPREAD': float, 'CLUSTER': float, 'PALETTE_SCENES': float,
    'SINGLE_DISTRACTORS': tuple, 'OBJECT_CENTRE_SIGMA': float, 'MAX_ROTATION': float, 'OBJECTS_IN_FRONT': bool,
}


@contextlib.contextmanager
def generator_overrides(overrides: Optional[Mapping] = None) -> Iterator[None]:
    """Temporarily set generator constants (see :data:`TUNABLE`); the originals are restored on exit."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(TUNABLE))
    if unknown:
        raise KeyError(f'cannot override {unknown}: tunable generator constants are {sorted(TUNABLE)}')
    values = {}
    for name, value in overrides.items():
        kind = TUNABLE[name]
        try:
            if kind is bool and not isinstance(value, bool):
                raise TypeError('not a bool')
            values[name] = tuple(float(v) if isinstance(v, float) else v for v in value) if kind is tuple \
                else value if kind is bool else float(value)
        except (TypeError, ValueError) as e:
            raise TypeError(f'{name} must be a {kind.__name__} (like {getattr(bench, name)!r}), got {value!r}') from e
    if 'APPEARANCE_PROBS' in values:
        probs = np.asarray(values['APPEARANCE_PROBS'], float)
        if probs.shape != (len(bench.APPEARANCES), ) or (probs < 0).any() or not np.isclose(probs.sum(), 1.0):
            raise ValueError(f'APPEARANCE_PROBS needs {len(bench.APPEARANCES)} non-negative probabilities summing '
                             f'to 1 (one per {bench.APPEARANCES}), got {values["APPEARANCE_PROBS"]}')
    saved = {name: getattr(bench, name) for name in values}
    try:
        for name, value in values.items():
            setattr(bench, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(bench, name, value)


class ProbeModel(nn.Module):
    """A backbone's last feature map, global ``avg`` or ``max`` pooling and a linear classifier; the classic CAM
    is the classifier applied at every position of the map (for both poolings the class score is a pooling of
    that map)."""

    def __init__(self, backbone: nn.Module, channels: int, num_classes: int, pool: str = 'avg'):
        super().__init__()
        if pool not in ('avg', 'max'):
            raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
        self.backbone, self.pool = backbone, pool
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor):
        feat = self.backbone(x)[-1]
        pooled = feat.amax((2, 3)) if self.pool == 'max' else feat.mean((2, 3))
        return self.fc(pooled), feat

    def cams(self, feat: torch.Tensor) -> torch.Tensor:
        return torch.einsum('bchw,kc->bkhw', feat, self.fc.weight)


class _Levels(nn.Sequential):
    """A sequential backbone that returns its output as the only feature level, like ``out_indices=(-1, )``."""

    def forward(self, x: torch.Tensor):
        return (super().forward(x), )


def plain_cnn(widths=(32, 64, 64, 128, 128, 256, 256), pool_after=(1, 3, 5)) -> nn.Module:
    """A VGG-like reference learner for the probe: 3x3 conv-BN-ReLU layers at full resolution first, a 2x2 max
    pool after the layers in ``pool_after`` (stride 8 with the defaults, like ``wsol-d8``). Written here because
    the probe only needs a fixed, well-understood baseline, not one of the mmpretrain classifiers."""
    layers, c_in = [], 3
    for i, c in enumerate(widths):
        layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        if i in pool_after:
            layers.append(nn.MaxPool2d(2))
        c_in = c
    return _Levels(*layers)


def _resnet18(base_channels: int = 16, dilated: bool = False) -> nn.Module:
    """mmpretrain's ResNet-18 at ``base_channels`` (16 as in ``configs/wsol/resnet18_demo_cub.py``); ``dilated``:
    the stride-8 twin (strides of ``layer3`` / ``layer4`` replaced by dilation)."""
    from mmpretrain.models.backbones import ResNet
    extra = dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)) if dilated else {}
    return ResNet(depth=18, base_channels=base_channels, out_indices=(3, ), **extra)


#: Non-ScaleNet backbones the probe can train (name -> constructor); see the module docstring. The ``-20``
#: ResNets have 1.12 M parameters, matching ``tiny-d2d3`` (1.10 M); the ``-16`` ones 0.72 M, matching ``wsol-d8``.
REFERENCE_BACKBONES = {
    'plain-cnn': plain_cnn,
    **{f'resnet18-{c}{suffix}': (lambda c=c, d=bool(suffix): _resnet18(c, d))
       for c in (16, 20) for suffix in ('', '-s8')},
}


def _build_model(arch: str, num_classes: int, image_size: int, pool: str) -> ProbeModel:
    from scalenet_mm.models.backbones import ScaleNet
    from scalenet_mm.models.backbones.named_archs import NAMED_ARCHS, get_named_arch

    if arch in REFERENCE_BACKBONES:
        backbone = REFERENCE_BACKBONES[arch]()
    else:
        backbone = ScaleNet(arch=get_named_arch(arch) if arch in NAMED_ARCHS else arch, out_indices=(-1, ))
    with torch.no_grad():
        channels = backbone(torch.zeros(1, 3, image_size, image_size))[-1].shape[1]
    return ProbeModel(backbone, channels, num_classes, pool)


def _tensors(samples):
    x = torch.from_numpy(np.stack([s.image for s in samples])).permute(0, 3, 1, 2).float()
    x = (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return x, torch.tensor([s.objects[0].label for s in samples])


def _boxes(sample) -> np.ndarray:
    return np.array([o.bbox for o in sample.objects], float)


def probe(variant: str = 'v2', overrides: Optional[Mapping] = None, num_train: int = 3000, num_test: int = 300,
          image_size: int = 64, epochs: int = 10, arch: str = DEFAULT_ARCH, optimizer: str = 'adamw',
          lr: float = 1e-3, pool: str = 'max', batch_size: int = 32, seed: int = 0, controls: bool = True,
          num_selection: int = 0, overlays: Optional[str] = None, save_model: Optional[str] = None,
          log=print) -> Dict:
    """Render ``num_train`` / ``num_test`` single-object samples with the ``overrides``, score the controls on
    the test samples, train ``arch`` for ``epochs`` (flip + shift augmentation, one-cycle schedule) and score
    its classic CAM of the GT class. With ``num_selection`` > 0, also render that many selection samples and
    choose among the CAM sources there (module docstring); the gate then scores the chosen source. ``overlays``:
    a PNG path for a grid of test CAMs (classic and chosen) with GT and predicted boxes. ``save_model``: a path
    for the trained weights (``torch.save`` of the state dict), for diagnosis after the run. Returns top-1 per
    epoch, the CAM and control MaxBoxAccV2 and both gates."""
    if optimizer not in ('sgd', 'adamw'):
        raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {optimizer!r}")
    if min(num_train, num_test, epochs) < 1 or num_selection < 0:
        raise ValueError('num_train, num_test and epochs must be >= 1 and num_selection >= 0')
    torch.manual_seed(seed)
    start = time.time()
    with generator_overrides(overrides):
        train = bench.generate_benchmark_samples(variant, num_train, image_size, False, seed=seed, split='train')
        test = bench.generate_benchmark_samples(variant, num_test, image_size, False, seed=seed, split='test')
        selection = bench.generate_benchmark_samples(variant, num_selection, image_size, False, seed=seed,
                                                     split='selection') if num_selection else []
    log(f'[probe] rendered {num_train} + {num_test} + {num_selection} samples in {time.time() - start:.0f}s')
    result = dict(curve=[])
    if controls:
        scores = evaluate_controls([(s.image, _boxes(s)) for s in test])
        result['controls'] = {k: round(v['MaxBoxAccV2'], 2) for k, v in scores.items()}
        verdict = no_learning_gate(result['controls'])
        result['no_learning_gate'] = verdict.to_dict()
        log(f'[probe] {verdict}')
    num_classes = len(bench.benchmark_spec(variant).classes)
    model = _build_model(arch, num_classes, image_size, pool)
    x_train, y_train = _tensors(train)
    x_test, y_test = _tensors(test)
    params = model.parameters()
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=5e-4, nesterov=True) if optimizer == 'sgd' \
        else torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
    steps = epochs * math.ceil(num_train / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        tic, total = time.time(), 0.0
        order = torch.randperm(num_train, generator=gen)
        for i in range(0, num_train, batch_size):
            idx = order[i:i + batch_size]
            x = x_train[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
            dy, dx = torch.randint(-4, 5, (2, ), generator=gen).tolist()
            loss = F.cross_entropy(model(torch.roll(x, (dy, dx), (2, 3)))[0], y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if epoch < epochs - 1:
            top1 = _top1(model, x_test, y_test)
            result['curve'].append(dict(epoch=epoch + 1, loss=round(total / num_train, 4), top1=round(top1, 2)))
            log(f'[probe] epoch {epoch + 1}/{epochs} loss {total / num_train:.3f} top-1 {top1:.1f} '
                f'({time.time() - tic:.0f}s)')
    if save_model:
        os.makedirs(osp.dirname(osp.abspath(save_model)), exist_ok=True)
        torch.save(model.state_dict(), save_model)
        log(f'[probe] trained weights: {save_model}')
    top1 = _top1(model, x_test, y_test)
    result['curve'].append(dict(epoch=epochs, loss=round(total / num_train, 4), top1=round(top1, 2)))
    sources = _cam_sources(model, image_size, library=bool(selection))
    on_test = {name: _cam_metrics(source, x_test, y_test, test) for name, source in sources.items()}
    x_sel, y_sel = _tensors(selection) if selection else (None, None)
    on_selection = {name: _cam_metrics(source, x_sel, y_sel, selection)
                    for name, source in sources.items()} if selection else {}
    scores = {name: dict(test=round(on_test[name]['MaxBoxAccV2'], 2),
                         **({'selection': round(on_selection[name]['MaxBoxAccV2'], 2)} if selection else {}))
              for name in sources}
    chosen = max(scores, key=lambda n: scores[n]['selection']) if selection else 'cam'
    if overlays:
        shown = {n: sources[n] for n in dict.fromkeys(('cam', chosen))}
        _plot_overlays(model, shown, on_selection or on_test, x_test, y_test, test, overlays,
                       bench.benchmark_spec(variant).classes)
        log(f'[probe] CAM overlays: {overlays}')
    result.update(top1=round(top1, 2), cam_MaxBoxAccV2=scores['cam']['test'], elapsed_s=round(time.time() - start, 1))
    if selection:
        picked = on_test[chosen]
        result.update(cam_sources=scores, selected_cam=dict(
            name=chosen, MaxBoxAccV2=scores[chosen]['test'], by_size=picked['by_size'],
            **{f'MaxBoxAcc@IoU{d}': round(picked[f'MaxBoxAcc@IoU{d}'], 2) for d in ('0.3', '0.5', '0.7')}))
    if controls:
        result['learnability_gate'] = learnability_gate({'trained CAM': scores[chosen]['test']},
                                                        result['controls']).to_dict()
    log(f'[probe] top-1 {top1:.1f}, CAM MaxBoxAccV2 (test) ' + ', '.join(
        f"{n} {v['test']:.1f}" + (f" (selection {v['selection']:.1f})" if 'selection' in v else '')
        for n, v in scores.items()) + (f'; chosen on the selection split: {chosen}' if selection else ''))
    return result


def _top1(model: ProbeModel, x, y) -> float:
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(x[i:i + 100])[0] for i in range(0, len(x), 100)])
    return float((logits.argmax(1) == y).float().mean()) * 100


def _cam_sources(model: ProbeModel, image_size: int, library: bool = True) -> Dict[str, Callable]:
    """``name -> (inputs, targets) -> (N, h, w) maps``: the classic CAM and, with ``library``, the
    :data:`LIBRARY_CAM_SOURCES` the learner has levels for, each also fused over :data:`MULTI_SCALE_FACTORS`."""
    from scalenet_mm.wsol import LibraryCAM, MultiScaleCAM

    def classic(x, targets):
        with torch.no_grad():
            return model.cams(model(x)[1])[torch.arange(len(targets)), targets]

    sources = {'cam': classic}
    for name, (method, level) in (LIBRARY_CAM_SOURCES.items() if library else ()):
        try:
            extractor = LibraryCAM(model, method, level, score_fn=lambda x: model(x)[0])
        except ValueError:  # no feature levels (plain CNN)
            continue
        sources[name] = lambda x, targets, e=extractor: e(x, targets).cams
        fused = MultiScaleCAM(extractor, [round(image_size * f) for f in MULTI_SCALE_FACTORS], modes=('mean', ))
        sources[f'{name}+ms-mean'] = lambda x, targets, m=fused: m(x, targets)['mean']
    return sources


def _cam_metrics(source, x, y, samples) -> Dict:
    """Box metrics (reference protocol) of ``source``'s maps of the GT classes ``y`` over ``samples``, with
    ``by_size``: MaxBoxAccV2 and the image count of every non-empty :data:`SIZE_BUCKETS` bucket (each at its
    own best thresholds: a diagnosis of where the boxes fail, not an operating point)."""
    acc = BoxAccumulator()
    buckets = {name: BoxAccumulator() for name in SIZE_BUCKETS}
    for i in range(0, len(samples), 100):
        cams = source(x[i:i + 100], y[i:i + 100]).detach().numpy()
        for cam, sample in zip(cams, samples[i:i + 100]):
            side = sample.objects[0].side_fraction
            bucket = next(name for name, bound in SIZE_BUCKETS.items() if side < bound)
            for accumulator in (acc, buckets[bucket]):
                accumulator.update(cam, _boxes(sample), sample.image.shape[:2])
    metrics = acc.compute()
    metrics['by_size'] = {name: dict(MaxBoxAccV2=round(b.compute()['MaxBoxAccV2'], 2), images=b.num_samples)
                          for name, b in buckets.items() if b.num_samples}
    return metrics


def _plot_overlays(model, sources, metrics, x, y, samples, path, class_names, count: int = 12) -> None:
    """The first ``count`` test images with each source's CAM, boxed at the threshold of ``metrics``."""
    from scalenet_mm.visualization import plot_wsol_grid
    shown, labels = samples[:count], y[:count]
    with torch.no_grad():
        preds = model(x[:count])[0].argmax(1)
    maps = {name: source(x[:count], labels).detach().numpy() for name, source in sources.items()}
    vis = [dict(img=s.image, gt_label=int(labels[i]), pred_label=int(preds[i]), gt_bboxes=_boxes(s),
                cams={name: m[i] for name, m in maps.items()}) for i, s in enumerate(shown)]
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    plot_wsol_grid(vis, metrics, path, class_names)


def run_key(params: Mapping) -> str:
    """A stable key of a probe's parameters (sorted JSON, hashed)."""
    return hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]


def run_probe(out_json: str, name: str, overlays: Optional[str] = None, save_model: Optional[str] = None,
              **params) -> Dict:
    """:func:`probe` with its result stored under ``name`` in ``out_json``; a run whose parameters are already
    there is read back instead of recomputed (resume). ``overlays`` and ``save_model`` (paths) are not part of
    the key."""
    rows = {}
    if osp.exists(out_json):
        with open(out_json) as f:
            rows = json.load(f)
    key = run_key(params)
    stored = rows.get(name, {})
    scored = stored.get('cam_sources', {})  # rows scored before the fused sources existed are recomputed
    stale = any(n in scored and f'{n}+ms-mean' not in scored for n in LIBRARY_CAM_SOURCES)
    # the overrides are relative to the generator's defaults: a row rendered under other defaults is stale
    stale |= stored.get('benchmark_version', 1) != bench.BENCHMARK_VERSION
    if stored.get('key') == key and not stale:
        print(f'[probe] {name}: already in {out_json} (same parameters), not rerun'
              + (' (no overlays: the model is not stored)' if overlays else ''))
        return rows[name]
    row = dict(key=key, params=params, benchmark_version=bench.BENCHMARK_VERSION,
               **probe(**params, overlays=overlays, save_model=save_model))
    rows[name] = row
    os.makedirs(osp.dirname(osp.abspath(out_json)), exist_ok=True)
    atomic_write_text(out_json, json.dumps(rows, indent=2))
    return row


def results_table(out_json: str) -> str:
    """A markdown table of every probe stored in ``out_json``: top-1, the classic CAM's, the selected CAM
    source's and the best control's MaxBoxAccV2 (reference protocol, test split) and both gates."""
    if not osp.exists(out_json):
        raise FileNotFoundError(f'no probe results at {out_json}: run tools/probe_learnability.py --out {out_json} '
                                f'first, or point --out at an existing results JSON')
    with open(out_json) as f:
        rows = json.load(f)
    lines = ['| design | model | overrides | train / test / epochs | top-1 | trained CAM | CAM chosen on selection | '
             'best control | no-learning gate (bound) | learnability gate (bound) |',
             '|---|---|---|---|---:|---:|---|---|---|---|']
    for name, row in rows.items():
        p, controls = row['params'], row.get('controls', {})
        best = max(controls, key=controls.get) if controls else None
        gates = [(f"{'pass' if row[g]['passed'] else 'FAIL'} ({row[g]['bound']:.1f})" if g in row else 'n/a')
                 for g in ('no_learning_gate', 'learnability_gate')]
        overrides = ', '.join(f'{k}={v}' for k, v in p['overrides'].items()) or 'none'
        overrides += f" (generator v{row.get('benchmark_version', 1)})"
        selected = row.get('selected_cam')
        chosen = f"{selected['name']} {selected['MaxBoxAccV2']:.1f}" if selected else 'n/a (classic CAM)'
        model = p.get('arch', DEFAULT_ARCH) + (f", {p['pool']} pool" if 'pool' in p else '')
        lines.append(f"| {name} | {model} | {overrides} | "
                     f"{p['num_train']} / {p['num_test']} / {p['epochs']} | "
                     f"{row['top1']:.1f} | {row['cam_MaxBoxAccV2']:.1f} | {chosen} | "
                     f"{f'{best} {controls[best]:.1f}' if best else 'n/a'} | {gates[0]} | {gates[1]} |")
    return '\n'.join(lines)
