"""The ``legacy`` synthetic shape data (frozen) and :func:`generate_dataset`, the entry point of every generated
data set of ``scalenet_mm``.

Variants of :func:`generate_dataset`:

* ``'legacy'`` -- the first embedded data set, kept **frozen** (same parameters, same bytes) so that old
  results can be reproduced and so that the no-learning gate has a data set it must reject: every image holds
  one object (single-object mode) or 1-4 objects (multi-object mode) of :data:`CLASSES`, each class a distinct
  *shape* with a distinct *texture*, in a vivid colour, over a dull two-colour gradient with thin distractor
  strokes and small blobs. Object sides are log-uniform between 8 % and 80 % of the image side. Objects never
  overlap. It is a saliency task: a colour-saturation map localises the objects without any learning
  (:mod:`scalenet_mm.wsol.gates`).
* ``'v2'`` / ``'v2-digits'`` -- localisation benchmark v2 (shape-only classes, same-appearance distractors,
  photo and texture backgrounds, a selection split), see :mod:`scalenet_mm.datasets.localization_benchmark`.

Annotation conventions: :mod:`scalenet_mm.datasets.annotations`; on-disk layouts (ImageNet folders,
CUB-200-2011, COCO): :mod:`scalenet_mm.datasets.layouts`; the ``.complete`` markers that make a second call with
the same parameters a no-op: :mod:`scalenet_mm.datasets.generation_cache`. Next to the layouts,
``<root>/synthetic_meta.json`` records the parameters, the classes and every object.
"""
import math
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from .annotations import BoxedObject, BoxedSample, mask_to_bbox, mask_to_coco_rle
from .generation_cache import GenerationCache, params_hash
from .layouts import LAYOUT_WRITERS, LAYOUTS

__all__ = [
    'CLASSES', 'LAYOUTS', 'VARIANTS', 'GENERATOR_VERSION', 'SyntheticObject', 'SyntheticSample', 'render_sample',
    'generate_samples', 'generate_dataset', 'mask_to_bbox', 'mask_to_coco_rle', 'params_hash'
]

#: Object classes of the legacy variant: (name, shape, texture), sorted by name so that the label of a class is
#: the same whether it comes from an annotation file or from sorted class folders (mmpretrain's
#: ``CustomDataset`` scan). Classes differ in shape, and all but ring/star (plain colour) in texture.
CLASS_SPECS: Tuple[Tuple[str, str, str], ...] = (
    ('checker_blob', 'blob', 'checker'),
    ('cross', 'cross', 'twotone'),
    ('disc', 'disc', 'radial'),
    ('dotted_hexagon', 'hexagon', 'dots'),
    ('ring', 'ring', 'solid'),
    ('star', 'star', 'solid'),
    ('striped_square', 'square', 'stripes'),
    ('triangle', 'triangle', 'grain'),
)
CLASSES: Tuple[str, ...] = tuple(spec[0] for spec in CLASS_SPECS)
VARIANTS: Tuple[str, ...] = ('legacy', 'v2', 'v2-digits')
#: Version of the legacy renderer; it is frozen, so this never changes.
GENERATOR_VERSION = 1

MIN_SIDE_FRACTION = 0.08
MAX_SIDE_FRACTION = 0.80
_SPLIT_CODES = {'train': 0, 'test': 1}


class SyntheticObject(BoxedObject):
    """One object of a legacy sample. ``bbox`` is 0-based inclusive ``[x0, y0, x1, y1]``."""

    @property
    def name(self) -> str:
        return CLASSES[self.label]


class SyntheticSample(BoxedSample):
    """One legacy image (H, W, 3 uint8 RGB) with its objects; ``objects[primary]`` is the largest."""


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------
def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6.0) % 6
    f = h * 6.0 - math.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb, dtype=np.float32) * 255.0


def _dull_color(rng: np.random.Generator) -> np.ndarray:
    """A low-saturation, darker colour: backgrounds and distractors."""
    return _hsv_to_rgb(rng.random(), rng.uniform(0.0, 0.45), rng.uniform(0.12, 0.6))


def _vivid_color(rng: np.random.Generator) -> np.ndarray:
    """A saturated, bright colour: objects."""
    return _hsv_to_rgb(rng.random(), rng.uniform(0.65, 1.0), rng.uniform(0.8, 1.0))


def _background(rng: np.random.Generator, size: int, grid: Tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    yy, xx = grid
    c0, c1 = _dull_color(rng), _dull_color(rng)
    theta = rng.uniform(0, 2 * math.pi)
    ramp = (np.cos(theta) * xx + np.sin(theta) * yy) / max(size - 1, 1)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    img = c0[None, None] * (1 - ramp[..., None]) + c1[None, None] * ramp[..., None]
    return img.astype(np.float32)


def _draw_distractors(rng: np.random.Generator, canvas: Image.Image, size: int) -> None:
    """Thin strokes and small blobs: clutter that is not an object."""
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(2, 7))):
        color = tuple(int(c) for c in _dull_color(rng) * rng.uniform(0.8, 1.6))
        color = tuple(min(c, 255) for c in color)
        x0, y0 = rng.uniform(0, size, 2)
        length = rng.uniform(0.1, 0.45) * size
        angle = rng.uniform(0, 2 * math.pi)
        pts = [(x0, y0)]
        for _seg in range(int(rng.integers(1, 4))):  # short polyline, slightly bent
            angle += rng.uniform(-0.8, 0.8)
            x0, y0 = x0 + math.cos(angle) * length / 2, y0 + math.sin(angle) * length / 2
            pts.append((x0, y0))
        draw.line(pts, fill=color, width=1)
    max_r = max(1.0, 0.025 * size)
    for _ in range(int(rng.integers(1, 5))):
        color = tuple(min(int(c), 255) for c in _dull_color(rng) * rng.uniform(0.8, 1.5))
        cx, cy = rng.uniform(0, size, 2)
        rx, ry = rng.uniform(0.6, max_r, 2)
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=color)


def _regular_polygon(cx, cy, r, n, rot, inner=None):
    pts = []
    for k in range(n * (2 if inner else 1)):
        if inner:
            rad = r if k % 2 == 0 else r * inner
            a = rot + math.pi * k / n
        else:
            rad = r
            a = rot + 2 * math.pi * k / n
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    return pts


def _shape_mask(rng: np.random.Generator, shape: str, size: int, cx: float, cy: float, r: float,
                rot: float) -> np.ndarray:
    """Binary mask of a shape whose every point lies within distance ``r`` of (cx, cy)."""
    canvas = Image.new('L', (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    if shape == 'disc':
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=1)
    elif shape == 'ring':
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=1)
        ri = r * 0.55
        if ri >= 1.0:
            draw.ellipse([cx - ri, cy - ri, cx + ri, cy + ri], fill=0)
    elif shape == 'triangle':
        draw.polygon(_regular_polygon(cx, cy, r, 3, rot), fill=1)
    elif shape == 'star':
        draw.polygon(_regular_polygon(cx, cy, r, 5, rot, inner=0.42), fill=1)
    elif shape == 'cross':
        w = 0.36 * r  # half-width of a bar; arm tips on the circle of radius r
        half = math.sqrt(max(r * r - w * w, 0.0))
        local = [(-w, -half), (w, -half), (w, -w), (half, -w), (half, w), (w, w), (w, half),
                 (-w, half), (-w, w), (-half, w), (-half, -w), (-w, -w)]
        c, s = math.cos(rot), math.sin(rot)
        draw.polygon([(cx + c * x - s * y, cy + s * x + c * y) for x, y in local], fill=1)
    elif shape == 'square':
        draw.polygon(_regular_polygon(cx, cy, r, 4, rot), fill=1)
    elif shape == 'hexagon':
        draw.polygon(_regular_polygon(cx, cy, r, 6, rot), fill=1)
    elif shape == 'blob':
        n = 24
        amp = rng.uniform(0.1, 0.25, 3)
        phase = rng.uniform(0, 2 * math.pi, 3)
        angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
        radial = 1.0 + sum(a * np.sin((k + 2) * angles + p) for k, (a, p) in enumerate(zip(amp, phase)))
        radial = radial / radial.max() * r  # the farthest point is at distance r
        draw.polygon([(cx + rr * math.cos(a), cy + rr * math.sin(a)) for rr, a in zip(radial, angles)],
                     fill=1)
    else:
        raise ValueError(f'unknown shape {shape!r}')
    return np.asarray(canvas, dtype=np.uint8).astype(bool)


def _texture(rng: np.random.Generator, texture: str, grid, cx: float, cy: float, r: float,
             rot: float) -> np.ndarray:
    """(H, W, 3) float colour field of a texture, to be cut out by a mask."""
    yy, xx = grid
    c1 = _vivid_color(rng)
    h, w = yy.shape
    if texture == 'solid':
        return np.broadcast_to(c1, (h, w, 3))
    if texture == 'radial':
        d = np.sqrt((xx - cx)**2 + (yy - cy)**2) / max(r, 1.0)
        shade = np.clip(1.0 - 0.55 * d, 0.35, 1.0)
        return c1[None, None] * shade[..., None]
    if texture == 'grain':
        shade = rng.uniform(0.45, 1.0, (h, w)).astype(np.float32)
        return c1[None, None] * shade[..., None]
    c2 = c1 * rng.uniform(0.2, 0.4)  # dark partner colour of the same hue
    c, s = math.cos(rot), math.sin(rot)
    u = c * (xx - cx) + s * (yy - cy)
    v = -s * (xx - cx) + c * (yy - cy)
    period = max(2.0, r / 2.5)
    if texture == 'twotone':  # horizontal arm vs vertical arm (in the object's frame)
        sel = np.abs(u) > np.abs(v)
    elif texture == 'stripes':
        sel = np.floor(u / (period / 2)) % 2 == 0
    elif texture == 'checker':
        sel = (np.floor(u / (period / 2)) + np.floor(v / (period / 2))) % 2 == 0
    elif texture == 'dots':
        pu, pv = (u / period) % 1.0 - 0.5, (v / period) % 1.0 - 0.5
        sel = (pu * pu + pv * pv) >= 0.09  # True: base colour; dots of radius 0.3 * period
    else:
        raise ValueError(f'unknown texture {texture!r}')
    return np.where(sel[..., None], c1[None, None], c2[None, None])


def _sample_side(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def render_sample(rng: np.random.Generator, image_size: int = 64, multi_object: bool = False,
                  labels: Optional[Sequence[int]] = None, split: str = 'train',
                  index: int = 0) -> SyntheticSample:
    """Render one sample with ``rng``.

    Args:
        rng: the random generator; the sample is a pure function of its state.
        image_size: side S of the square image.
        multi_object: 1-4 objects instead of one.
        labels: classes of the objects to draw (random when ``None``); in single-object mode only
            ``labels[0]`` is used.
    """
    size = int(image_size)
    grid = np.mgrid[0:size, 0:size].astype(np.float32)
    grid = (grid[0], grid[1])
    img = _background(rng, size, grid)
    canvas = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    _draw_distractors(rng, canvas, size)
    img = np.asarray(canvas).astype(np.float32)

    if multi_object:
        n_obj = int(rng.integers(1, 5)) if labels is None else len(labels)
    else:
        n_obj = 1
    if labels is None:
        labels = [int(x) for x in rng.integers(0, len(CLASSES), n_obj)]
    labels = list(labels)[:n_obj]
    hi = MAX_SIDE_FRACTION if n_obj == 1 else MAX_SIDE_FRACTION * 0.6
    taken = np.zeros((size, size), dtype=bool)  # boxes (grown by one pixel) of placed objects
    objects: List[SyntheticObject] = []
    for label in labels:
        _, shape, texture = CLASS_SPECS[label]
        side_frac = _sample_side(rng, MIN_SIDE_FRACTION, hi)
        placed = None
        for attempt in range(40):
            if attempt and attempt % 10 == 0:
                side_frac = max(MIN_SIDE_FRACTION, side_frac * 0.75)
            r = max(side_frac * size / 2.0, 2.0)
            lo_c, hi_c = r, size - 1 - r
            if hi_c < lo_c:
                lo_c = hi_c = (size - 1) / 2.0
            cx, cy = rng.uniform(lo_c, hi_c, 2)
            rot = rng.uniform(0, 2 * math.pi)
            mask = _shape_mask(rng, shape, size, cx, cy, r, rot)
            if not mask.any():
                continue
            x0, y0, x1, y1 = mask_to_bbox(mask)
            if taken[y0:y1 + 1, x0:x1 + 1].any():
                continue
            placed = (mask, (x0, y0, x1, y1), cx, cy, r, rot)
            break
        if placed is None:  # no room left: fewer objects (the first one always fits)
            continue
        mask, box, cx, cy, r, rot = placed
        tex = _texture(rng, texture, grid, cx, cy, r, rot)
        img[mask] = tex[mask]
        x0, y0, x1, y1 = box
        taken[max(y0 - 1, 0):y1 + 2, max(x0 - 1, 0):x1 + 2] = True
        objects.append(
            SyntheticObject(
                label=int(label),
                bbox=box,
                mask=mask,
                area_fraction=float(mask.sum()) / (size * size),
                side_fraction=max(x1 - x0 + 1, y1 - y0 + 1) / size))
    if not objects:
        raise RuntimeError('could not place any object')  # cannot happen for image_size >= 16
    img += rng.normal(0.0, rng.uniform(3.0, 9.0), img.shape).astype(np.float32)
    image = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return SyntheticSample(split=split, index=index, image=image, objects=objects)


def progress_bar(total: int, desc: str, enabled: bool):
    """mmengine's progress bar for ``total`` items, or ``None`` when disabled or empty."""
    if not enabled or total <= 0:
        return None
    from mmengine.utils import ProgressBar
    print(f'[scalenet_mm] {desc}: {total} images', flush=True)
    return ProgressBar(total, file=sys.stdout)  # the current stdout (its default is bound at import)


def generate_samples(num: int, image_size: int = 64, multi_object: bool = False, seed: int = 0,
                     split: str = 'train', labels: Optional[Sequence[int]] = None,
                     progress: bool = False) -> List[SyntheticSample]:
    """Render ``num`` legacy samples of ``split``; deterministic in (seed, split, index).

    In single-object mode the classes are balanced (a seeded permutation of ``i % num_classes``)
    unless ``labels`` (one class per sample) is given.
    """
    if split not in _SPLIT_CODES:
        raise ValueError(f'split must be one of {sorted(_SPLIT_CODES)}, got {split!r}')
    if int(image_size) < 16:
        raise ValueError(f'image_size must be >= 16, got {image_size}')
    code = _SPLIT_CODES[split]
    if labels is None and not multi_object:
        perm_rng = np.random.default_rng([int(seed), code, 1 << 20])
        labels = perm_rng.permutation(np.arange(num) % len(CLASSES))
    if labels is not None and len(labels) != num:
        raise ValueError(f'got {len(labels)} labels for {num} samples')
    samples = []
    bar = progress_bar(num, f'rendering {split}', progress)
    for i in range(num):
        rng = np.random.default_rng([int(seed), code, i])
        lab = None if labels is None else [int(labels[i])]
        samples.append(render_sample(rng, image_size, multi_object, labels=lab, split=split, index=i))
        if bar is not None:
            bar.update()
    if bar is not None:
        print(flush=True)
    return samples


def _split_stats(samples: Sequence[BoxedSample], classes: Sequence[str]) -> Dict:
    objs = [o for s in samples for o in s.objects]
    if not objs:
        return {'num_images': len(samples), 'num_objects': 0}
    area = np.array([o.area_fraction for o in objs])
    side = np.array([o.side_fraction for o in objs])
    counts = np.bincount([s.label for s in samples], minlength=len(classes))
    return {
        'num_images': len(samples),
        'num_objects': len(objs),
        'area_fraction_min': float(area.min()),
        'area_fraction_max': float(area.max()),
        'side_fraction_min': float(side.min()),
        'side_fraction_max': float(side.max()),
        'image_label_counts': {classes[i]: int(c) for i, c in enumerate(counts)},
    }


def _object_record(obj: BoxedObject, classes: Sequence[str]) -> Dict:
    extra = getattr(obj, 'extra_fields', None)
    return {
        'label': obj.label,
        'name': classes[obj.label],
        'bbox': list(obj.bbox),
        'area': obj.area,
        'area_fraction': obj.area_fraction,
        'side_fraction': obj.side_fraction,
        **(extra() if callable(extra) else {}),
    }


def generate_dataset(root: str, num_train: int = 1200, num_test: int = 300, image_size: int = 64,
                     multi_object: bool = False, seed: int = 0,
                     layouts: Sequence[str] = LAYOUTS, force: bool = False,
                     progress: bool = True, variant: str = 'legacy',
                     num_selection: Optional[int] = None) -> Dict:
    """Generate a synthetic data set under ``root`` in the requested standard layouts.

    Args:
        root: output directory; layouts go to ``<root>/imagenet``, ``<root>/cub``, ``<root>/coco``.
        num_train / num_test: number of train / test images (test = ImageNet ``val``, CUB
            ``is_training_image = 0``, COCO ``val2017``).
        image_size: side of the square RGB images (>= 16; v2: >= 32).
        multi_object: 1-4 objects per image instead of exactly one.
        seed: everything is a deterministic function of (variant, seed, split, image index).
        layouts: any of ``'imagenet'``, ``'cub'``, ``'coco'``.
        force: regenerate even when the ``.complete`` markers match.
        progress: show a progress bar.
        variant: one of :data:`VARIANTS` (default ``'legacy'``, the data every existing config was written for;
            ``tools/make_demo_data.py`` defaults to ``'v2'``).
        num_selection: images of the box-labelled selection split (v2 only; ``None``: 5 per class). The
            legacy variant has no selection split.

    Returns:
        A summary dict: ``root``, ``skipped``, ``params``, ``params_hash``, ``classes``,
        ``layouts`` (paths per layout), ``splits`` (per-split counts and object scale ranges),
        ``elapsed_s``.
    """
    layouts = tuple(layouts)
    unknown = [name for name in layouts if name not in LAYOUT_WRITERS]
    if unknown:
        raise ValueError(f'unknown layouts {unknown}; choose from {list(LAYOUT_WRITERS)}')
    if variant not in VARIANTS:
        raise ValueError(f'unknown variant {variant!r}; choose from {list(VARIANTS)}')
    if num_train < 0 or num_test < 0 or (num_selection is not None and num_selection < 0):
        raise ValueError('num_train, num_test and num_selection must be >= 0')
    if variant == 'legacy':
        if num_selection:
            raise ValueError('the legacy variant has no selection split; use variant="v2" for one '
                             '(or num_selection=None / 0)')
        classes = CLASSES
        # exactly the parameters of the frozen generator, so its cached data sets stay valid
        params = {
            'generator_version': GENERATOR_VERSION,
            'num_train': int(num_train),
            'num_test': int(num_test),
            'image_size': int(image_size),
            'multi_object': bool(multi_object),
            'seed': int(seed),
            'classes': list(CLASSES),
        }
        description, version = 'scalenet_mm synthetic shapes', str(GENERATOR_VERSION)
    else:
        from . import localization_benchmark as bench
        spec = bench.benchmark_spec(variant)
        classes = spec.classes
        num_selection = spec.default_selection() if num_selection is None else int(num_selection)
        params = {
            'variant': variant,
            'benchmark_version': bench.BENCHMARK_VERSION,
            'num_train': int(num_train),
            'num_test': int(num_test),
            'num_selection': num_selection,
            'image_size': int(image_size),
            'multi_object': bool(multi_object),
            'seed': int(seed),
            'classes': list(classes),
        }
        description, version = f'scalenet_mm localisation benchmark {variant}', str(bench.BENCHMARK_VERSION)
    cache = GenerationCache(root, params)
    start = time.time()
    root = cache.root
    todo = cache.pending(layouts, force)
    layout_paths = {name: cache.layout_dir(name) for name in layouts}
    cached = None if todo else cache.cached_summary()
    if cached is not None:
        print(f'[scalenet_mm] synthetic data set under {root} is complete '
              f'(params hash {cache.digest}); skipped regeneration.')
        cached.update(skipped=True, layouts=layout_paths, elapsed_s=time.time() - start)
        return cached

    print(f'[scalenet_mm] generating {variant} synthetic data set under {root}: {num_train} train / '
          f'{num_test} test images of {image_size}x{image_size}, '
          f'{"multi" if multi_object else "single"}-object, seed {seed}, layouts {list(layouts)}',
          flush=True)
    if variant == 'legacy':
        samples = {
            'train': generate_samples(num_train, image_size, multi_object, seed, 'train', progress=progress),
            'test': generate_samples(num_test, image_size, multi_object, seed, 'test', progress=progress),
        }
    else:
        counts = {'train': int(num_train), 'test': int(num_test), 'selection': num_selection}
        samples = {split: bench.generate_benchmark_samples(variant, n, image_size, multi_object, seed, split,
                                                           progress=progress)
                   for split, n in counts.items()}
    for name in todo:
        out = cache.begin(name)
        LAYOUT_WRITERS[name](out, samples, classes, int(image_size), description=description, version=version)
        cache.complete(name)
        print(f'[scalenet_mm]   wrote {name} layout to {out}', flush=True)

    summary = {
        'root': root,
        'skipped': False,
        'params': params,
        'params_hash': cache.digest,
        'classes': list(classes),
        'layouts': layout_paths,
        'splits': {split: _split_stats(samples[split], classes) for split in samples},
    }
    images = {
        split: [{'stem': s.stem, 'label': s.label, 'objects': [_object_record(o, classes) for o in s.objects]}
                for s in samples[split]]
        for split in samples
    }
    cache.write_meta(summary, images)
    summary['elapsed_s'] = time.time() - start
    print(f'[scalenet_mm] done in {summary["elapsed_s"]:.1f}s', flush=True)
    return summary
