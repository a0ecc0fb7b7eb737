"""Localisation benchmark v2: synthetic images whose objects only a learned, class-specific model can find.

The legacy embedded data (:mod:`scalenet_mm.datasets.synthetic`) is a saliency task: objects are vivid, the
background and distractors dull, so a colour-saturation map localises the objects without learning. Here every
cue that is not the class's *shape* is drawn independently of the class and of the object / distractor role,
and the design was iterated against the no-learning controls (:mod:`scalenet_mm.wsol.controls`,
:mod:`scalenet_mm.wsol.gates`) under the reference metric, whose MaxBoxAccV2 credits a map when *any* of its
contours boxes the object. The design is frozen at :data:`BENCHMARK_VERSION` 2 (issue #12): the constants
below are the ones the experiments of ``docs/wsol_experiment.md`` and ``docs/detection_pseudo_boxes.md`` run on.


* **Classes are shapes** (variant ``'v2'``): :data:`SHAPE_CLASSES` are labelled, :data:`SHAPE_DISTRACTORS` are
  never labelled; each shape gets a random rotation (any angle, or up to ``MAX_ROTATION`` degrees either way)
  and aspect ratio. Real strokes (variant ``'v2-digits'``):
  scikit-learn's ``load_digits`` scans, digits 0-4 labelled, 5-9 distractors; each split uses its own scans (a
  seeded permutation of the 1,797 scans: 60 % train, 10 % selection, 30 % test). A scan (8x8, 17 grey levels)
  is only used as a *mask*: it is upsampled with a cubic spline, blurred, perturbed by a smooth random field,
  rotated and thresholded with a soft ramp, so neither its grid nor its grey levels reach the pixels.
* **One appearance pool** (:data:`APPEARANCES`, :data:`APPEARANCE_PROBS`) fills the background, the objects and
  the distractors alike: flat fills, gradients, stripes / checks / dots, a grey texture crop and a photograph crop
  (the textures and photographs bundled in the scikit-image wheel, :data:`TEXTURES`, :data:`PHOTOS`), in
  colours drawn over the whole HSV range. Two harder mechanisms exist but are off in the frozen design (the
  learnability screen of ``docs/wsol_experiment.md`` found that no small learner classified them at 64 px):
  :data:`PALETTE_SCENES` (background and shapes share one two-colour palette with equalised grey levels) and
  :data:`CAMOUFLAGE` (a shape takes the background's kind of appearance). A shape is only kept where its pixels
  differ from the background by at least ``MIN_CONTRAST`` on average, whatever its role.
* **Photo / texture crops of a split come from its own region** of each source image: the left 60 % of the
  columns for train, the next 10 % for selection, the right 30 % for test, so no test pixel is seen in training.
  Half of the backgrounds are mosaics of 2-3 appearances cut by straight lines (large salient regions that are
  not objects).
* **Distractors**: 3-5 per image (1-3 in the multi-object form), with the objects' size distribution (drawn
  around the size of an object of the image, ``DISTRACTOR_SPREAD``) and the same appearance pool; all of them
  (:data:`CLUSTER`) overlap the rim of an object, so that a map that outlines every shape outlines clusters.
  Labelled objects are painted in front of the distractors (:data:`OBJECTS_IN_FRONT`: an occluded cross would
  read as a tee), distractors in a random depth order among themselves; a shape keeps at least ``MIN_VISIBLE``
  = 70 % of its in-image mask and may be truncated by the image border.
* **Placement and sizes**: the side of an object is log-uniform in ``[MIN_SIDE, MAX_SIDE]`` = [0.2, 0.95] of the
  image side (multi-object: up to ``MAX_SIDE_MULTI``). Single objects are centre-biased (a Gaussian of std
  ``OBJECT_CENTRE_SIGMA`` times the side around the centre, like the photographs of CUB or ImageNet), so the
  centre prior is a strong content-free baseline; multi-object instances are placed uniformly.
  :data:`SIZE_BUCKETS` (largest GT box area / image area) cut the test split in three buckets of about equal
  count (tertiles of 900 test images of the frozen design), so 1,200 test images give about 400 per bucket.
* **Multi-object form**: 1-4 labelled objects whose boxes do not touch (instances stay separable); a third of
  the two-object images hold two instances of one class, the others two classes.
* **Selection split**: ``selection`` samples (default 5 per class), box-labelled like test, disjoint from train
  and test by construction (own random stream, own photo region, own digit scans), for choosing CAM methods,
  layers and thresholds without looking at the test split (as ``train-fullsup`` of Choe et al., CVPR 2020).

Shapes are drawn at 4x and box-filtered (anti-aliased). Everything is a pure function of
``(variant, seed, split, index)``: the same parameters give the same bytes. Boxes are the exact extent of an
object's *visible* mask (after occlusion and truncation); see :mod:`scalenet_mm.datasets.annotations`.
"""
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from .annotations import BoxedObject, BoxedSample, mask_to_bbox

__all__ = [
    'BENCHMARK_VERSION', 'SHAPE_CLASSES', 'SHAPE_DISTRACTORS', 'DIGIT_CLASSES', 'DIGIT_DISTRACTORS', 'APPEARANCES',
    'PHOTOS', 'TEXTURES', 'SIZE_BUCKETS', 'SPLITS', 'BenchmarkSpec', 'BenchmarkObject', 'benchmark_spec',
    'render_benchmark_sample', 'generate_benchmark_samples', 'digit_scan_indices'
]

#: Bump when the rendering changes, so that cached data sets are regenerated.
BENCHMARK_VERSION = 2
SHAPE_CLASSES: Tuple[str, ...] = ('cross', 'ring', 'square', 'star', 'triangle')
SHAPE_DISTRACTORS: Tuple[str, ...] = ('crescent', 'disc', 'ell', 'heart', 'tee')
DIGIT_CLASSES: Tuple[str, ...] = ('digit_0', 'digit_1', 'digit_2', 'digit_3', 'digit_4')
DIGIT_DISTRACTORS: Tuple[str, ...] = ('digit_5', 'digit_6', 'digit_7', 'digit_8', 'digit_9')
APPEARANCES: Tuple[str, ...] = ('flat', 'gradient', 'pattern', 'texture', 'photo')
#: Probability of each appearance (the same for background, objects and distractors).
APPEARANCE_PROBS: Tuple[float, ...] = (0.4, 0.25, 0.15, 0.1, 0.1)
#: RGB photographs and grey textures of ``skimage.data`` (all bundled in the wheel, no download).
PHOTOS: Tuple[str, ...] = ('astronaut', 'coffee', 'chelsea', 'rocket', 'immunohistochemistry', 'retina')
TEXTURES: Tuple[str, ...] = ('brick', 'grass', 'gravel', 'moon', 'cell', 'coins', 'camera', 'page')
SPLITS: Tuple[str, ...] = ('train', 'test', 'selection')
_SPLIT_CODES = {'train': 0, 'test': 1, 'selection': 2}
#: Column range (fraction of the width) of each split's photo / texture crops.
_SPLIT_REGIONS = {'train': (0.0, 0.6), 'selection': (0.6, 0.7), 'test': (0.7, 1.0)}
#: Share of the digit scans of each split (a seeded permutation of the 1,797 scans).
_DIGIT_SHARES = (('train', 0.6), ('selection', 0.1), ('test', 0.3))
_VARIANT_CODES = {'v2': 2, 'v2-digits': 3}

MIN_SIDE = 0.2
MAX_SIDE = 0.95
MAX_SIDE_MULTI = 0.6
#: ``{name: (lo, hi)}`` on the largest GT box area / image area (``lo < f <= hi``), about equal counts.
SIZE_BUCKETS: Dict[str, Tuple[float, float]] = {'small': (0.0, 0.08), 'medium': (0.08, 0.23), 'large': (0.23, 1.0)}
MIN_CONTRAST = 20.0
#: Probability that a shape is filled with the kind of appearance of the background.
CAMOUFLAGE = 0.0
MIN_VISIBLE = 0.7
#: Distractor side = an object's side times exp(U(-spread, spread)), clipped to the size range.
DISTRACTOR_SPREAD = 0.4
PLACEMENT_TRIES = 12
#: Probability that a distractor overlaps the rim of an object.
CLUSTER = 1.0
#: Largest rotation of a shape in degrees, either way (180: any orientation), the same for every role.
MAX_ROTATION = 180.0
#: Share of images whose background and shapes share one two-colour palette.
PALETTE_SCENES = 0.0
#: Number of distractors per image (inclusive range), single- and multi-object forms.
SINGLE_DISTRACTORS = (3, 5)
#: Objects' centres: Gaussian around the image centre with this std (fraction of the side); None: uniform.
OBJECT_CENTRE_SIGMA = 0.08
MULTI_DISTRACTORS = (1, 3)
#: Paint labelled objects in front of every distractor, so clutter touches an object but never hides its outline
#: (an occluded cross reads as a tee, an occluded square as an ell: occlusion of objects is label noise).
OBJECTS_IN_FRONT = True
_SUPERSAMPLE = 4


@dataclass(frozen=True)
class BenchmarkSpec:
    """Classes of a variant: ``classes`` are labelled, ``distractors`` never are."""
    variant: str
    classes: Tuple[str, ...]
    distractors: Tuple[str, ...]

    def default_selection(self) -> int:
        """Selection split size: 5 images per class."""
        return 5 * len(self.classes)


def benchmark_spec(variant: str) -> BenchmarkSpec:
    if variant == 'v2':
        return BenchmarkSpec(variant, SHAPE_CLASSES, SHAPE_DISTRACTORS)
    if variant == 'v2-digits':
        return BenchmarkSpec(variant, DIGIT_CLASSES, DIGIT_DISTRACTORS)
    raise ValueError(f"unknown benchmark variant {variant!r}; choose 'v2' or 'v2-digits'")


class BenchmarkObject(BoxedObject):
    """A labelled object of benchmark v2; ``truncated``: its box touches the image border, ``visible``: the
    share of its in-image mask that no shape in front of it covers."""

    def __init__(self, label, bbox, mask, area_fraction, side_fraction, truncated: bool, visible: float):
        super().__init__(label, bbox, mask, area_fraction, side_fraction)
        self.truncated = bool(truncated)
        self.visible = float(visible)

    def extra_fields(self) -> Dict:
        return {'truncated': int(self.truncated), 'visible_fraction': round(self.visible, 4)}


# --------------------------------------------------------------------------------------------------
# Sources: skimage photographs / textures and scikit-learn digits, loaded once per process
# --------------------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _source_image(name: str) -> Image.Image:
    try:
        import skimage.data
    except ImportError as e:  # pragma: no cover - part of the pinned stack
        raise ImportError('benchmark v2 needs scikit-image (pinned in requirements/runtime.txt): '
                          'pip install scikit-image==0.26.0') from e
    arr = np.asarray(getattr(skimage.data, name)())
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return Image.fromarray(np.ascontiguousarray(arr[..., :3], dtype=np.uint8))


@lru_cache(maxsize=None)
def _digits() -> Tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - part of the pinned stack
        raise ImportError('the v2-digits variant needs scikit-learn (pinned in requirements/runtime.txt): '
                          'pip install scikit-learn==1.9.1') from e
    data = load_digits()
    return data.images.astype(np.float32) / 16.0, data.target.astype(np.int64)


@lru_cache(maxsize=None)
def digit_scan_indices(split: str) -> np.ndarray:
    """Indices (into ``load_digits``) of the scans that ``split`` may use; the splits are disjoint."""
    _, target = _digits()
    order = np.random.default_rng(20260).permutation(target.size)
    bounds, start = {}, 0
    for name, share in _DIGIT_SHARES:
        stop = target.size if name == _DIGIT_SHARES[-1][0] else start + int(round(share * target.size))
        bounds[name] = np.sort(order[start:stop])
        start = stop
    return bounds[split]


# --------------------------------------------------------------------------------------------------
# Appearance pool: (S, S, 3) float32 colour fields
# --------------------------------------------------------------------------------------------------
def _random_color(rng: np.random.Generator) -> np.ndarray:
    """Any hue, saturation and brightness: the pool is the same for every role."""
    h, s, v = rng.random(), rng.random(), rng.uniform(0.1, 1.0)
    i = int(h * 6.0) % 6
    f = h * 6.0 - math.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb, dtype=np.float32) * 255.0


def _crop(rng: np.random.Generator, name: str, split: str, size: int) -> np.ndarray:
    """A random square crop of a source image from the split's column region, resized to ``size``."""
    src = _source_image(name)
    w, h = src.size
    lo, hi = _SPLIT_REGIONS[split]
    x_lo, x_hi = int(lo * w), int(hi * w)
    max_side = min(x_hi - x_lo, h)
    side = rng.uniform(min(32, max_side), max_side)
    x0 = rng.uniform(x_lo, x_hi - side)
    y0 = rng.uniform(0, h - side)
    crop = src.resize((size, size), Image.BILINEAR, box=(x0, y0, x0 + side, y0 + side))
    arr = np.asarray(crop, dtype=np.float32)
    if rng.random() < 0.5:
        arr = arr[:, ::-1]
    return np.ascontiguousarray(arr)


def _appearance_kind(rng: np.random.Generator) -> str:
    return APPEARANCES[int(rng.choice(len(APPEARANCES), p=APPEARANCE_PROBS))]


def _equalise(grey: np.ndarray) -> np.ndarray:
    """Rank transform to a uniform [0, 1] histogram: every region then has the same grey-level distribution."""
    ranks = np.empty(grey.size, np.float32)
    ranks[np.argsort(grey.reshape(-1), kind='stable')] = np.arange(grey.size, dtype=np.float32)
    return (ranks / max(grey.size - 1, 1)).reshape(grey.shape)


def _grey_field(rng: np.random.Generator, kind: str, split: str, size: int, grid) -> np.ndarray:
    """(S, S) float32 in [0, 1]: the spatial structure of an appearance (its colours are applied later)."""
    yy, xx = grid
    if kind == 'flat':
        return np.zeros((size, size), np.float32)
    if kind == 'gradient':
        theta = rng.uniform(0, 2 * math.pi)
        ramp = np.cos(theta) * xx + np.sin(theta) * yy
        return ((ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)).astype(np.float32)
    if kind == 'pattern':
        theta = rng.uniform(0, math.pi)
        period = rng.uniform(3.0, max(4.0, size / 6.0))
        phase = rng.uniform(0, 1, 2)
        u = (np.cos(theta) * xx + np.sin(theta) * yy) / period + phase[0]
        v = (-np.sin(theta) * xx + np.cos(theta) * yy) / period + phase[1]
        style = int(rng.integers(3))
        if style == 0:  # stripes
            sel = np.floor(u * 2) % 2 == 0
        elif style == 1:  # checks
            sel = (np.floor(u * 2) + np.floor(v * 2)) % 2 == 0
        else:  # dots covering half of the area
            sel = ((u % 1.0 - 0.5)**2 + (v % 1.0 - 0.5)**2) < 0.159
        return sel.astype(np.float32)
    names = TEXTURES if kind == 'texture' else PHOTOS
    rgb = _crop(rng, names[int(rng.integers(len(names)))], split, size)
    grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32) / 255.0
    return ((grey - grey.min()) / max(float(grey.max() - grey.min()), 1e-6)).astype(np.float32)


def _appearance(rng: np.random.Generator, split: str, size: int, grid, kind: Optional[str] = None,
                palette: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> np.ndarray:
    """(S, S, 3) float32 colour field. With a ``palette`` (a scene palette shared by the background and every
    shape of the image) the structure is equalised and mapped onto the palette's two colours, so that every
    region has the same colour distribution and only the spatial structure tells regions apart. Without one,
    photographs keep their colours and the other kinds get two random colours."""
    kind = _appearance_kind(rng) if kind is None else kind
    if kind == 'photo' and palette is None:
        return _crop(rng, PHOTOS[int(rng.integers(len(PHOTOS)))], split, size)
    grey = _grey_field(rng, kind, split, size, grid)
    if palette is None:
        c0, c1 = _random_color(rng), _random_color(rng)
    else:
        c0, c1 = palette
        if kind in ('texture', 'photo'):
            grey = _equalise(grey)
    return (c0 * (1 - grey[..., None]) + c1 * grey[..., None]).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# Shapes: soft alpha (S, S) in [0, 1], rendered at 4x and box-filtered (anti-aliased)
# --------------------------------------------------------------------------------------------------
def _star(points: int, inner: float) -> List[Tuple[float, float]]:
    return [((1.0 if k % 2 == 0 else inner) * math.cos(math.pi * k / points - math.pi / 2),
             (1.0 if k % 2 == 0 else inner) * math.sin(math.pi * k / points - math.pi / 2))
            for k in range(2 * points)]


def _regular(n: int) -> List[Tuple[float, float]]:
    return [(math.cos(2 * math.pi * k / n - math.pi / 2), math.sin(2 * math.pi * k / n - math.pi / 2))
            for k in range(n)]


_W = 0.34  # half-width of the bars of cross / ell / tee
#: Unit-radius outlines: (filled polygons or circles, holes); every point within distance 1 of the origin.
_POLYGONS = {
    'triangle': _regular(3),
    'square': _regular(4),
    'star': _star(5, 0.45),
    'cross': [(-_W, -1), (_W, -1), (_W, -_W), (1, -_W), (1, _W), (_W, _W), (_W, 1), (-_W, 1), (-_W, _W),
              (-1, _W), (-1, -_W), (-_W, -_W)],
    'ell': [(-0.7, -0.7), (-0.7 + 2 * _W, -0.7), (-0.7 + 2 * _W, 0.7 - 2 * _W), (0.7, 0.7 - 2 * _W), (0.7, 0.7),
            (-0.7, 0.7)],
    'tee': [(-0.7, -0.7), (0.7, -0.7), (0.7, -0.7 + 2 * _W), (_W, -0.7 + 2 * _W), (_W, 0.7), (-_W, 0.7),
            (-_W, -0.7 + 2 * _W), (-0.7, -0.7 + 2 * _W)],
    'heart': [(16 * math.sin(t)**3 / 17.0, -(13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) -
                                            math.cos(4 * t)) / 17.0 + 0.1)
              for t in np.linspace(0, 2 * math.pi, 48, endpoint=False)],
}


def _shape_alpha(rng: np.random.Generator, shape: str, size: int, cx: float, cy: float, r: float) -> np.ndarray:
    """Anti-aliased alpha of a polygon / circle shape of radius ``r`` px, random rotation and aspect."""
    k = _SUPERSAMPLE
    canvas = Image.new('L', (size * k, size * k), 0)
    draw = ImageDraw.Draw(canvas)
    if MAX_ROTATION >= 180:
        rot = rng.uniform(0, 2 * math.pi)
    else:
        rot = math.radians(rng.uniform(-MAX_ROTATION, MAX_ROTATION))
    aspect = math.exp(rng.uniform(-0.2, 0.2))
    c, s = math.cos(rot), math.sin(rot)

    def to_px(points):
        out = []
        for x, y in points:
            x, y = x * aspect, y / aspect
            norm = max(aspect, 1 / aspect)  # keep every point within radius r
            x, y = x / norm, y / norm
            out.append(((cx + r * (c * x - s * y)) * k, (cy + r * (s * x + c * y)) * k))
        return out

    def ellipse(ox, oy, rad, fill):
        px, py = to_px([(ox, oy)])[0]
        draw.ellipse([px - rad * r * k, py - rad * r * k, px + rad * r * k, py + rad * r * k], fill=fill)

    if shape in _POLYGONS:
        draw.polygon(to_px(_POLYGONS[shape]), fill=255)
    elif shape == 'disc':
        ellipse(0, 0, 1.0, 255)
    elif shape == 'ring':
        ellipse(0, 0, 1.0, 255)
        ellipse(0, 0, 0.5, 0)
    elif shape == 'crescent':
        ellipse(0, 0, 1.0, 255)
        ellipse(0.45, 0, 0.8, 0)
    else:
        raise ValueError(f'unknown shape {shape!r}')
    # box filter = the mean of each k x k block (anti-aliasing); PIL rounds it to 8 bits
    return np.asarray(canvas.resize((size, size), Image.BOX), dtype=np.float32) / 255.0


def _digit_alpha(rng: np.random.Generator, scan: np.ndarray, size: int, cx: float, cy: float,
                 r: float) -> np.ndarray:
    """Soft alpha of a digit scan: cubic upsampling + blur + smooth perturbation + soft threshold, so neither the
    8x8 grid nor the 17 grey levels of the scan survive."""
    from scipy import ndimage

    side = max(int(round(2 * r)), 4)  # the scan's 8x8 (plus 1-pixel border) spans the shape's diameter
    zoom = side / 10.0
    padded = np.pad(scan, 1)
    up = ndimage.zoom(padded, zoom, order=3, mode='grid-constant', grid_mode=True)
    up = ndimage.gaussian_filter(up, sigma=0.35 * zoom)
    rough = ndimage.gaussian_filter(rng.standard_normal(up.shape).astype(np.float32), sigma=max(zoom, 1.0))
    up = up + 0.6 * rough / max(float(np.abs(rough).max()), 1e-6) * 0.15
    angle = rng.uniform(-20, 20)
    up = ndimage.rotate(up, angle, reshape=True, order=1, mode='constant')
    thr = rng.uniform(0.25, 0.4)
    soft = max(0.04, 0.5 / max(zoom, 1.0))
    local = np.clip((up - thr) / soft + 0.5, 0.0, 1.0).astype(np.float32)
    alpha = np.zeros((size, size), np.float32)
    h, w = local.shape
    x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    dx1, dy1 = min(size, x0 + w), min(size, y0 + h)
    if dx1 > dx0 and dy1 > dy0:
        alpha[dy0:dy1, dx0:dx1] = local[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0]
    return alpha


# --------------------------------------------------------------------------------------------------
# Composition
# --------------------------------------------------------------------------------------------------
@dataclass(eq=False)
class _Layer:
    alpha: np.ndarray
    fill: np.ndarray
    label: Optional[int]  # None: distractor
    depth: float  # painted in increasing depth order (larger = in front)
    circle: Tuple[float, float, float]  # centre and radius (px) of the drawn shape

    @property
    def inside(self) -> np.ndarray:
        return self.alpha >= 0.5


def _side(rng: np.random.Generator, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(MIN_SIDE), math.log(hi))))


def _shape_at(rng, variant: str, split: str, size: int, kind_index: int, is_target: bool, side: float,
              near: Optional[_Layer] = None,
              centre_sigma: Optional[float] = None) -> Tuple[np.ndarray, Tuple[float, float, float]]:
    """Alpha of one shape of the given kind and side, and its ``(cx, cy, r)``: at a random position (centre
    inside the image), or overlapping the rim of ``near``."""
    spec = benchmark_spec(variant)
    r = max(side * size / 2.0, 2.5)
    margin = 0.5 * r
    lo_c, hi_c = min(margin, size / 2.0), max(size - margin, size / 2.0)
    if near is None and centre_sigma:
        cx, cy = np.clip(rng.normal(size / 2.0, centre_sigma * size, 2), lo_c, hi_c)
    elif near is None:
        cx, cy = rng.uniform(lo_c, hi_c, 2)
    else:
        ncx, ncy, nr = near.circle
        phi = rng.uniform(0, 2 * math.pi)
        dist = nr + r * rng.uniform(-0.6, 0.2)
        cx = float(np.clip(ncx + dist * math.cos(phi), lo_c, hi_c))
        cy = float(np.clip(ncy + dist * math.sin(phi), lo_c, hi_c))
    circle = (float(cx), float(cy), float(r))
    if variant == 'v2':
        names = spec.classes if is_target else spec.distractors
        return _shape_alpha(rng, names[kind_index], size, cx, cy, r), circle
    digit = kind_index if is_target else kind_index + len(spec.classes)
    images, target = _digits()
    pool = digit_scan_indices(split)
    pool = pool[target[pool] == digit]
    scan = images[int(pool[int(rng.integers(pool.size))])]
    return _digit_alpha(rng, scan, size, cx, cy, r), circle


def _background(rng: np.random.Generator, split: str, size: int, grid, palette=None) -> Tuple[np.ndarray, str]:
    """One pool appearance, or (half of the time) a mosaic of 2-3 of them cut by straight lines, so that large
    salient regions occur without any object."""
    kind = _appearance_kind(rng)
    img = _appearance(rng, split, size, grid, kind, palette)
    if rng.random() < 0.5:
        yy, xx = grid
        for _ in range(int(rng.integers(1, 3))):
            theta = rng.uniform(0, 2 * math.pi)
            px, py = rng.uniform(0.2 * size, 0.8 * size, 2)
            side = (np.cos(theta) * (xx - px) + np.sin(theta) * (yy - py)) > 0
            img = np.where(side[..., None], _appearance(rng, split, size, grid, palette=palette), img)
    return img, kind


def _visible(layers: Sequence[_Layer]) -> List[np.ndarray]:
    """Visible mask of each layer: inside it and not covered by a layer in front of it."""
    order = sorted(range(len(layers)), key=lambda i: -layers[i].depth)
    covered = np.zeros(layers[0].alpha.shape, bool)
    out: List[Optional[np.ndarray]] = [None] * len(layers)
    for i in order:
        out[i] = layers[i].inside & ~covered
        covered |= layers[i].inside
    return out


def _visible_enough(layers: Sequence[_Layer]) -> Optional[List[np.ndarray]]:
    vis = _visible(layers)
    for layer, v in zip(layers, vis):
        if v.sum() < 6 or v.sum() < MIN_VISIBLE * layer.inside.sum():
            return None
    return vis


def _separable(layers: Sequence[_Layer], vis: Sequence[np.ndarray]) -> bool:
    """Boxes of labelled instances do not touch (1-pixel gap)."""
    taken = np.zeros(vis[0].shape, bool)
    for layer, v in zip(layers, vis):
        if layer.label is None:
            continue
        x0, y0, x1, y1 = mask_to_bbox(v)
        if taken[y0:y1 + 1, x0:x1 + 1].any():
            return False
        taken[max(y0 - 1, 0):y1 + 2, max(x0 - 1, 0):x1 + 2] = True
    return True


def _place(rng, variant, split, size, grid, background, background_kind, palette, layers: List[_Layer],
           kind_index: int, is_target: bool, side: float, near: Optional[_Layer] = None,
           centre_sigma: Optional[float] = None) -> bool:
    """Try :data:`PLACEMENT_TRIES` positions for a shape; keep the first where it stands out from the background
    and every shape (old and new, object or distractor alike) stays visible enough. False if none works."""
    # camouflage: often the kind of appearance of the background (another draw of it), whatever the role
    fill = _appearance(rng, split, size, grid, background_kind if rng.random() < CAMOUFLAGE else None, palette)
    depth = float(rng.random()) + (1.0 if is_target and OBJECTS_IN_FRONT else 0.0)
    for _ in range(PLACEMENT_TRIES):
        alpha, circle = _shape_at(rng, variant, split, size, kind_index, is_target, side, near, centre_sigma)
        layer = _Layer(alpha, fill, kind_index if is_target else None, depth, circle)
        inside = layer.inside
        if inside.sum() < 6:
            continue
        if np.abs(fill[inside] - background[inside]).mean() < MIN_CONTRAST:  # pixel-wise, not of the means
            continue
        vis = _visible_enough(layers + [layer])
        if vis is None or (is_target and not _separable(layers + [layer], vis)):
            continue
        layers.append(layer)
        return True
    return False


def render_benchmark_sample(rng: np.random.Generator, variant: str = 'v2', image_size: int = 64,
                            multi_object: bool = False, labels: Optional[Sequence[int]] = None,
                            split: str = 'train', index: int = 0, max_attempts: int = 60) -> BoxedSample:
    """Render one benchmark sample with ``rng`` (see the module docstring).

    Args:
        rng: the random generator; the sample is a pure function of its state.
        variant: ``'v2'`` (shapes) or ``'v2-digits'`` (real strokes).
        image_size: side S of the square image (>= 32).
        multi_object: 1-4 labelled objects instead of one.
        labels: classes of the labelled objects (random when ``None``).
        split: ``'train'``, ``'test'`` or ``'selection'``: selects the photo region and the digit scans.
    """
    spec = benchmark_spec(variant)
    size = int(image_size)
    if size < 32:
        raise ValueError(f'benchmark v2 images need image_size >= 32, got {image_size}')
    if split not in _SPLIT_CODES:
        raise ValueError(f'split must be one of {list(SPLITS)}, got {split!r}')
    n_cls = len(spec.classes)
    if labels is None:
        if multi_object:
            n_obj = int(rng.choice(4, p=(0.25, 0.35, 0.2, 0.2))) + 1
            labels = [int(rng.integers(n_cls))]
            if n_obj >= 2:
                same = rng.random() < 1 / 3
                other = [c for c in range(n_cls) if c != labels[0]]
                labels.append(labels[0] if same else int(rng.choice(other)))
            labels += [int(rng.integers(n_cls)) for _ in range(n_obj - len(labels))]
        else:
            labels = [int(rng.integers(n_cls))]
    labels = [int(c) for c in labels]
    if any(not 0 <= c < n_cls for c in labels) or not labels or (not multi_object and len(labels) != 1):
        raise ValueError(f'labels must be 1 (single-object) or 1-4 (multi-object) classes in 0..{n_cls - 1}, '
                         f'got {labels}')
    hi = MAX_SIDE if len(labels) == 1 else MAX_SIDE_MULTI
    grid = tuple(g.astype(np.float32) for g in np.mgrid[0:size, 0:size])
    lo_d, hi_d = MULTI_DISTRACTORS if multi_object else SINGLE_DISTRACTORS
    n_dis = int(rng.integers(lo_d, hi_d + 1))
    sides = [_side(rng, hi) for _ in labels]
    centre_sigma = OBJECT_CENTRE_SIGMA if len(labels) == 1 else None
    for attempt in range(max_attempts):
        if attempt and attempt % 10 == 0 and len(labels) > 1:  # no room for the objects: make them smaller
            sides = [max(MIN_SIDE, sd * 0.8) for sd in sides]
        palette = (_random_color(rng), _random_color(rng)) if rng.random() < PALETTE_SCENES else None
        background, background_kind = _background(rng, split, size, grid, palette)
        layers: List[_Layer] = []
        if not all(_place(rng, variant, split, size, grid, background, background_kind, palette, layers, c, True, sd,
                          centre_sigma=centre_sigma) for c, sd in zip(labels, sides)):
            continue
        objects_layers = list(layers)
        for _d in range(n_dis):
            # the objects' size distribution, drawn around an object of the image, so that the objects are not
            # the largest shapes more often than chance; most distractors overlap the rim of an object, so that
            # a map that outlines every shape outlines clusters; a distractor with no room left is dropped
            which = int(rng.integers(len(objects_layers)))
            obj, anchor = objects_layers[which], sides[which]
            side = float(np.clip(anchor * math.exp(rng.uniform(-DISTRACTOR_SPREAD, DISTRACTOR_SPREAD)),
                                 MIN_SIDE, hi))
            near = obj if rng.random() < CLUSTER else None
            _place(rng, variant, split, size, grid, background, background_kind, palette, layers,
                   int(rng.integers(len(spec.distractors))), False, side, near)
        vis = _visible(layers)
        img = background
        for i in sorted(range(len(layers)), key=lambda j: layers[j].depth):
            a = layers[i].alpha[..., None]
            img = a * layers[i].fill + (1 - a) * img
        objects = []
        for layer, v in zip(layers, vis):
            if layer.label is None:
                continue
            x0, y0, x1, y1 = mask_to_bbox(v)
            objects.append(BenchmarkObject(
                label=layer.label, bbox=(x0, y0, x1, y1), mask=v, area_fraction=float(v.sum()) / size**2,
                side_fraction=max(x1 - x0 + 1, y1 - y0 + 1) / size,
                truncated=min(x0, y0) == 0 or max(x1, y1) == size - 1,
                visible=float(v.sum()) / float(layer.inside.sum())))
        img = img + rng.normal(0.0, rng.uniform(0.0, 6.0), img.shape).astype(np.float32)
        image = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        return BoxedSample(split=split, index=index, image=image, objects=objects)
    raise RuntimeError(f'could not compose a {variant} sample in {max_attempts} attempts '
                       f'(split {split}, index {index}, labels {labels})')


def generate_benchmark_samples(variant: str, num: int, image_size: int = 64, multi_object: bool = False,
                               seed: int = 0, split: str = 'train', labels: Optional[Sequence[int]] = None,
                               progress: bool = False) -> List[BoxedSample]:
    """Render ``num`` samples of ``split``; deterministic in (variant, seed, split, index). In single-object mode
    the classes are balanced (a seeded permutation of ``i % num_classes``) unless ``labels`` is given."""
    from .synthetic import progress_bar

    spec = benchmark_spec(variant)
    if split not in _SPLIT_CODES:
        raise ValueError(f'split must be one of {list(SPLITS)}, got {split!r}')
    code = [_VARIANT_CODES[variant], int(seed), _SPLIT_CODES[split]]
    if labels is None and not multi_object:
        labels = np.random.default_rng(code + [1 << 20]).permutation(np.arange(num) % len(spec.classes))
    if labels is not None and len(labels) != num:
        raise ValueError(f'got {len(labels)} labels for {num} samples')
    bar = progress_bar(num, f'rendering {variant} {split}', progress)
    samples = []
    for i in range(num):
        rng = np.random.default_rng(code + [i])
        lab = None if labels is None else [int(labels[i])]
        samples.append(render_benchmark_sample(rng, variant, image_size, multi_object, lab, split, i))
        if bar is not None:
            bar.update()
    if bar is not None:
        print(flush=True)
    return samples
