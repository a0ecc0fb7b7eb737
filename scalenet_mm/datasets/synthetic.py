"""Deterministic generator of a small labelled shape data set, written in standard on-disk layouts.

The data set is the default, download-free data of ``scalenet_mm``: every image holds one object
(single-object mode) or 1-4 objects (multi-object mode) of :data:`CLASSES`, each class being a
distinct *shape* with a distinct *texture*, over a cluttered background (random two-colour gradient,
Gaussian noise, thin distractor strokes and small blobs that are not objects). Object sizes cover
a wide range of scales: the object side (the larger side of its box) is drawn log-uniformly between
``8 %`` and ``80 %`` of the image side.

Annotation conventions
----------------------
* ``bbox`` = ``[x0, y0, x1, y1]`` in **0-based inclusive pixel coordinates**: the object's mask has
  at least one pixel in column ``x0``, row ``y0``, column ``x1`` and row ``y1`` and none outside;
  boxes are computed from the drawn binary mask, so they are exact.
* ``area_fraction`` = number of mask pixels / (H * W); ``side_fraction`` = max(box w, box h) / S.
* In multi-object mode objects never overlap (their boxes are at least one pixel apart), so every
  mask is the full, unoccluded object. The *primary* object (largest mask) gives the image-level
  label used by the classification layouts (ImageNet folders, CUB).

Layouts written by :func:`generate_dataset` (``train`` samples -> train split, ``test`` samples ->
val/test split; the same pixels in every layout)::

    <root>/imagenet/train/<class_name>/train_00000.png
    <root>/imagenet/val/<class_name>/test_00000.png
    <root>/imagenet/meta/{train.txt,val.txt,classes.txt}    # "<class_name>/<file> <label>" lines
    <root>/imagenet/{train_boxes,val_boxes}/<stem>.xml       # Pascal-VOC boxes, 1-based inclusive
    <root>/cub/CUB_200_2011/images/<NNN.class_name>/<file>.jpg
    <root>/cub/CUB_200_2011/{images.txt,image_class_labels.txt,train_test_split.txt,
                             bounding_boxes.txt,classes.txt}
    <root>/cub/segmentations/<NNN.class_name>/<stem>.png     # primary-object mask, 0/255
    <root>/coco/{train2017,val2017}/<file>.jpg
    <root>/coco/annotations/{instances_train2017.json,instances_val2017.json}
    <root>/synthetic_meta.json                               # parameters, classes, all objects

CUB ``bounding_boxes.txt`` holds ``<id> <x> <y> <width> <height>`` with ``x = x0`` and
``width = x1 - x0 + 1``; COCO ``bbox`` is ``[x0, y0, x1 - x0 + 1, y1 - y0 + 1]`` (what
``pycocotools.mask.toBbox`` returns for the mask), ``area`` the mask pixel count and
``segmentation`` an uncompressed RLE (column-major, as pycocotools expects).

Each layout directory gets a ``.complete`` marker holding the hash of the generation parameters;
when all requested layouts carry a marker with the current hash, :func:`generate_dataset` skips
the work. PNG and JPEG encodings are deterministic, so the same parameters give identical bytes.
"""
import hashlib
import json
import math
import os
import os.path as osp
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    'CLASSES', 'LAYOUTS', 'GENERATOR_VERSION', 'SyntheticObject', 'SyntheticSample', 'render_sample',
    'generate_samples', 'generate_dataset', 'mask_to_bbox', 'mask_to_coco_rle', 'params_hash'
]

#: Object classes: (name, shape, texture), sorted by name so that the label of a class is the same
#: whether it comes from an annotation file or from sorted class folders (mmpretrain's
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
LAYOUTS: Tuple[str, ...] = ('imagenet', 'cub', 'coco')
#: Bump when the rendering changes, so that cached data sets are regenerated.
GENERATOR_VERSION = 1

MIN_SIDE_FRACTION = 0.08
MAX_SIDE_FRACTION = 0.80
_SPLIT_CODES = {'train': 0, 'test': 1}
_MARKER = '.complete'
_IN_PROGRESS = '.generating'


@dataclass
class SyntheticObject:
    """One object of a sample. ``bbox`` is 0-based inclusive ``[x0, y0, x1, y1]``."""
    label: int
    bbox: Tuple[int, int, int, int]
    mask: np.ndarray  # (H, W) bool
    area_fraction: float
    side_fraction: float

    @property
    def name(self) -> str:
        return CLASSES[self.label]

    @property
    def area(self) -> int:
        return int(self.mask.sum())


@dataclass
class SyntheticSample:
    """One image (H, W, 3 uint8 RGB) with its objects; ``objects[primary]`` is the largest."""
    split: str
    index: int
    image: np.ndarray
    objects: List[SyntheticObject] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return f'{self.split}_{self.index:05d}'

    @property
    def primary(self) -> int:
        return int(np.argmax([obj.area for obj in self.objects]))

    @property
    def label(self) -> int:
        """Image-level label: the class of the largest object."""
        return self.objects[self.primary].label


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


def mask_to_bbox(mask: np.ndarray) -> Tuple[int, int, int, int]:
    """0-based inclusive ``(x0, y0, x1, y1)`` extent of a non-empty binary mask."""
    cols = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    if cols.size == 0:
        raise ValueError('empty mask has no bounding box')
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


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


class _Progress:
    """Coarse progress report (about 20 updates): mmengine's ProgressBar, else tqdm, else prints."""

    def __init__(self, total: int, desc: str, enabled: bool = True):
        self.total, self.desc, self.done, self.pending = total, desc, 0, 0
        self.step = max(total // 20, 1)
        self.bar = self.kind = None
        if not enabled or total <= 0:
            return
        print(f'[scalenet_mm] {desc}: {total} images', flush=True)
        try:
            from mmengine.utils import ProgressBar
            self.bar, self.kind = ProgressBar(total), 'mmengine'
            return
        except Exception:  # pragma: no cover - depends on the environment
            pass
        try:
            from tqdm import tqdm
            self.bar, self.kind = tqdm(total=total, desc=desc), 'tqdm'
        except Exception:  # pragma: no cover
            self.kind = 'print'

    def update(self) -> None:
        if self.kind is None:
            return
        self.pending += 1
        self.done += 1
        if self.pending >= self.step or self.done == self.total:
            if self.kind == 'mmengine':
                self.bar.update(self.pending)
            elif self.kind == 'tqdm':
                self.bar.update(self.pending)
            else:
                print(f'{self.desc}: {self.done}/{self.total}', flush=True)
            self.pending = 0

    def close(self) -> None:
        if self.kind == 'mmengine':
            sys.stdout.write('\n')
            sys.stdout.flush()
        elif self.kind == 'tqdm':
            self.bar.close()


def generate_samples(num: int, image_size: int = 64, multi_object: bool = False, seed: int = 0,
                     split: str = 'train', labels: Optional[Sequence[int]] = None,
                     progress: bool = False) -> List[SyntheticSample]:
    """Render ``num`` samples of ``split``; deterministic in (seed, split, index).

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
    bar = _Progress(num, f'rendering {split}', enabled=progress)
    for i in range(num):
        rng = np.random.default_rng([int(seed), code, i])
        lab = None if labels is None else [int(labels[i])]
        samples.append(render_sample(rng, image_size, multi_object, labels=lab, split=split, index=i))
        bar.update()
    bar.close()
    return samples


# --------------------------------------------------------------------------------------------------
# Encoders
# --------------------------------------------------------------------------------------------------
def mask_to_coco_rle(mask: np.ndarray) -> Dict:
    """Uncompressed COCO RLE of a binary mask: column-major run lengths starting with zeros."""
    h, w = mask.shape
    flat = np.asarray(mask, dtype=bool).flatten(order='F').astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts = [0] + counts
    return {'size': [int(h), int(w)], 'counts': [int(c) for c in counts]}


def _voc_xml(filename: str, folder: str, size: int, objects: Iterable[SyntheticObject]) -> str:
    """Pascal-VOC / ImageNet-style annotation. Coordinates are 1-based inclusive (VOC)."""
    parts = [
        '<annotation>', f'\t<folder>{escape(folder)}</folder>', f'\t<filename>{escape(filename)}</filename>',
        '\t<source>\n\t\t<database>scalenet_mm synthetic</database>\n\t</source>',
        f'\t<size>\n\t\t<width>{size}</width>\n\t\t<height>{size}</height>\n\t\t<depth>3</depth>\n\t</size>',
        '\t<segmented>0</segmented>'
    ]
    for obj in objects:
        x0, y0, x1, y1 = obj.bbox
        parts.append('\t<object>\n'
                     f'\t\t<name>{escape(obj.name)}</name>\n'
                     '\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n'
                     '\t\t<difficult>0</difficult>\n'
                     '\t\t<bndbox>\n'
                     f'\t\t\t<xmin>{x0 + 1}</xmin>\n\t\t\t<ymin>{y0 + 1}</ymin>\n'
                     f'\t\t\t<xmax>{x1 + 1}</xmax>\n\t\t\t<ymax>{y1 + 1}</ymax>\n'
                     '\t\t</bndbox>\n\t</object>')
    parts.append('</annotation>\n')
    return '\n'.join(parts)


def _write_text(path: str, lines: Iterable[str]) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        for line in lines:
            f.write(line + '\n')


def _save_jpeg(pil: Image.Image, path: str) -> None:
    pil.save(path, format='JPEG', quality=95, subsampling=0)


# --------------------------------------------------------------------------------------------------
# Layout writers: each gets {'train': [...], 'test': [...]} and the layout directory
# --------------------------------------------------------------------------------------------------
def _write_imagenet(out: str, splits: Dict[str, List[SyntheticSample]], size: int, pils) -> Dict:
    os.makedirs(osp.join(out, 'meta'), exist_ok=True)
    _write_text(osp.join(out, 'meta', 'classes.txt'), CLASSES)
    paths = {}
    for split, folder in (('train', 'train'), ('test', 'val')):
        box_dir = osp.join(out, f'{folder}_boxes')
        os.makedirs(box_dir, exist_ok=True)
        for name in CLASSES:
            os.makedirs(osp.join(out, folder, name), exist_ok=True)
        lines = []
        for s in splits[split]:
            rel = f'{CLASSES[s.label]}/{s.stem}.png'
            pils[(split, s.index)].save(osp.join(out, folder, rel), format='PNG')
            lines.append(f'{rel} {s.label}')
            with open(osp.join(box_dir, f'{s.stem}.xml'), 'w', encoding='utf-8') as f:
                f.write(_voc_xml(f'{s.stem}.png', folder, size, s.objects))
        _write_text(osp.join(out, 'meta', f'{folder}.txt'), lines)
        paths[folder] = osp.join(out, folder)
    return paths


def _cub_class_dir(label: int) -> str:
    return f'{label + 1:03d}.{CLASSES[label]}'


def _write_cub(out: str, splits: Dict[str, List[SyntheticSample]], size: int, pils) -> Dict:
    base = osp.join(out, 'CUB_200_2011')
    seg_root = osp.join(out, 'segmentations')
    for label in range(len(CLASSES)):
        os.makedirs(osp.join(base, 'images', _cub_class_dir(label)), exist_ok=True)
        os.makedirs(osp.join(seg_root, _cub_class_dir(label)), exist_ok=True)
    images, labels, split_lines, boxes = [], [], [], []
    image_id = 0
    for split in ('train', 'test'):
        for s in splits[split]:
            image_id += 1
            rel = f'{_cub_class_dir(s.label)}/{s.stem}.jpg'
            _save_jpeg(pils[(split, s.index)], osp.join(base, 'images', rel))
            obj = s.objects[s.primary]
            Image.fromarray(obj.mask.astype(np.uint8) * 255).save(
                osp.join(seg_root, _cub_class_dir(s.label), f'{s.stem}.png'), format='PNG')
            x0, y0, x1, y1 = obj.bbox
            images.append(f'{image_id} {rel}')
            labels.append(f'{image_id} {s.label + 1}')
            split_lines.append(f'{image_id} {1 if split == "train" else 0}')
            boxes.append(f'{image_id} {float(x0):.1f} {float(y0):.1f} '
                         f'{float(x1 - x0 + 1):.1f} {float(y1 - y0 + 1):.1f}')
    _write_text(osp.join(base, 'images.txt'), images)
    _write_text(osp.join(base, 'image_class_labels.txt'), labels)
    _write_text(osp.join(base, 'train_test_split.txt'), split_lines)
    _write_text(osp.join(base, 'bounding_boxes.txt'), boxes)
    _write_text(osp.join(base, 'classes.txt'),
                [f'{i + 1} {_cub_class_dir(i)}' for i in range(len(CLASSES))])
    return {'data_root': base, 'segmentations': seg_root}


def _write_coco(out: str, splits: Dict[str, List[SyntheticSample]], size: int, pils) -> Dict:
    ann_dir = osp.join(out, 'annotations')
    os.makedirs(ann_dir, exist_ok=True)
    categories = [{'id': i + 1, 'name': n, 'supercategory': 'shape'} for i, n in enumerate(CLASSES)]
    paths = {}
    ann_id = 0
    for split, folder in (('train', 'train2017'), ('test', 'val2017')):
        os.makedirs(osp.join(out, folder), exist_ok=True)
        images, anns = [], []
        for image_id, s in enumerate(splits[split], start=1):
            file_name = f'{s.stem}.jpg'
            _save_jpeg(pils[(split, s.index)], osp.join(out, folder, file_name))
            images.append({'id': image_id, 'file_name': file_name, 'width': size, 'height': size})
            for obj in s.objects:
                ann_id += 1
                x0, y0, x1, y1 = obj.bbox
                anns.append({
                    'id': ann_id,
                    'image_id': image_id,
                    'category_id': obj.label + 1,
                    'bbox': [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)],
                    'area': float(obj.area),
                    'iscrowd': 0,
                    'segmentation': mask_to_coco_rle(obj.mask),
                    'area_fraction': round(obj.area_fraction, 6),
                })
        doc = {
            'info': {'description': 'scalenet_mm synthetic shapes', 'version': str(GENERATOR_VERSION)},
            'licenses': [],
            'images': images,
            'annotations': anns,
            'categories': categories,
        }
        ann_file = osp.join(ann_dir, f'instances_{folder}.json')
        with open(ann_file, 'w', encoding='utf-8') as f:
            json.dump(doc, f, separators=(',', ':'))
        paths[folder] = ann_file
    return paths


_WRITERS = {'imagenet': _write_imagenet, 'cub': _write_cub, 'coco': _write_coco}


# --------------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------------
def params_hash(params: Dict) -> str:
    blob = json.dumps(params, sort_keys=True).encode()
    return hashlib.sha1(blob).hexdigest()[:16]


def _layout_dir(root: str, layout: str) -> str:
    return osp.join(root, layout)


def _read_marker(layout_dir: str) -> Optional[Dict]:
    try:
        with open(osp.join(layout_dir, _MARKER), encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _prepare_layout_dir(layout_dir: str) -> None:
    """Empty a layout directory we own; refuse to touch a foreign non-empty one."""
    if osp.isdir(layout_dir) and os.listdir(layout_dir):
        ours = osp.exists(osp.join(layout_dir, _MARKER)) or osp.exists(osp.join(layout_dir, _IN_PROGRESS))
        if not ours:
            raise FileExistsError(
                f'{layout_dir} exists, is not empty and was not written by generate_dataset '
                f'(no {_MARKER} or {_IN_PROGRESS} marker); refusing to overwrite it. '
                'Choose another root or remove the directory.')
        shutil.rmtree(layout_dir)
    os.makedirs(layout_dir, exist_ok=True)
    with open(osp.join(layout_dir, _IN_PROGRESS), 'w') as f:
        f.write('generation in progress or interrupted\n')


def _split_stats(samples: List[SyntheticSample]) -> Dict:
    objs = [o for s in samples for o in s.objects]
    if not objs:
        return {'num_images': len(samples), 'num_objects': 0}
    area = np.array([o.area_fraction for o in objs])
    side = np.array([o.side_fraction for o in objs])
    counts = np.bincount([s.label for s in samples], minlength=len(CLASSES))
    return {
        'num_images': len(samples),
        'num_objects': len(objs),
        'area_fraction_min': float(area.min()),
        'area_fraction_max': float(area.max()),
        'side_fraction_min': float(side.min()),
        'side_fraction_max': float(side.max()),
        'image_label_counts': {CLASSES[i]: int(c) for i, c in enumerate(counts)},
    }


def generate_dataset(root: str, num_train: int = 1200, num_test: int = 300, image_size: int = 64,
                     multi_object: bool = False, seed: int = 0,
                     layouts: Sequence[str] = LAYOUTS, force: bool = False,
                     progress: bool = True) -> Dict:
    """Generate the synthetic data set under ``root`` in the requested standard layouts.

    Args:
        root: output directory; layouts go to ``<root>/imagenet``, ``<root>/cub``, ``<root>/coco``.
        num_train / num_test: number of train / test images (test = ImageNet ``val``, CUB
            ``is_training_image = 0``, COCO ``val2017``).
        image_size: side of the square RGB images (>= 16).
        multi_object: 1-4 objects per image instead of exactly one.
        seed: everything is a deterministic function of (seed, split, image index).
        layouts: any of ``'imagenet'``, ``'cub'``, ``'coco'``.
        force: regenerate even when the ``.complete`` markers match.
        progress: show a progress bar.

    Returns:
        A summary dict: ``root``, ``skipped``, ``params``, ``params_hash``, ``classes``,
        ``layouts`` (paths per layout), ``splits`` (per-split counts and object scale ranges),
        ``elapsed_s``.
    """
    layouts = tuple(layouts)
    unknown = [name for name in layouts if name not in _WRITERS]
    if unknown:
        raise ValueError(f'unknown layouts {unknown}; choose from {list(_WRITERS)}')
    if num_train < 0 or num_test < 0:
        raise ValueError('num_train and num_test must be >= 0')
    params = {
        'generator_version': GENERATOR_VERSION,
        'num_train': int(num_train),
        'num_test': int(num_test),
        'image_size': int(image_size),
        'multi_object': bool(multi_object),
        'seed': int(seed),
        'classes': list(CLASSES),
    }
    digest = params_hash(params)
    start = time.time()
    root = osp.abspath(root)
    meta_path = osp.join(root, 'synthetic_meta.json')
    todo = [
        name for name in layouts
        if force or (_read_marker(_layout_dir(root, name)) or {}).get('hash') != digest
    ]
    layout_paths = {name: _layout_dir(root, name) for name in layouts}
    if not todo and osp.exists(meta_path):
        with open(meta_path, encoding='utf-8') as f:
            meta = json.load(f)
        if meta.get('params_hash') == digest:
            print(f'[scalenet_mm] synthetic data set under {root} is complete '
                  f'(params hash {digest}); skipped regeneration.')
            summary = dict(meta['summary'])
            summary.update(skipped=True, layouts=layout_paths, elapsed_s=time.time() - start)
            return summary

    print(f'[scalenet_mm] generating synthetic data set under {root}: {num_train} train / '
          f'{num_test} test images of {image_size}x{image_size}, '
          f'{"multi" if multi_object else "single"}-object, seed {seed}, layouts {list(layouts)}',
          flush=True)
    os.makedirs(root, exist_ok=True)
    samples = {
        'train': generate_samples(num_train, image_size, multi_object, seed, 'train', progress=progress),
        'test': generate_samples(num_test, image_size, multi_object, seed, 'test', progress=progress),
    }
    pils = {(split, s.index): Image.fromarray(s.image) for split in samples for s in samples[split]}
    for name in todo:
        out = _layout_dir(root, name)
        _prepare_layout_dir(out)
        _WRITERS[name](out, samples, int(image_size), pils)
        with open(osp.join(out, _MARKER), 'w', encoding='utf-8') as f:
            json.dump({'hash': digest, 'params': params}, f, indent=1)
        os.remove(osp.join(out, _IN_PROGRESS))
        print(f'[scalenet_mm]   wrote {name} layout to {out}', flush=True)

    summary = {
        'root': root,
        'skipped': False,
        'params': params,
        'params_hash': digest,
        'classes': list(CLASSES),
        'layouts': layout_paths,
        'splits': {split: _split_stats(samples[split]) for split in samples},
    }
    meta = {
        'params_hash': digest,
        'summary': summary,
        'images': {
            split: [{
                'stem': s.stem,
                'label': s.label,
                'objects': [{
                    'label': o.label,
                    'name': o.name,
                    'bbox': list(o.bbox),
                    'area': o.area,
                    'area_fraction': o.area_fraction,
                    'side_fraction': o.side_fraction,
                } for o in s.objects],
            } for s in samples[split]]
            for split in samples
        },
    }
    with open(meta_path, 'w', encoding='utf-8') as f:
        json.dump(meta, f)
    summary['elapsed_s'] = time.time() - start
    print(f'[scalenet_mm] done in {summary["elapsed_s"]:.1f}s', flush=True)
    return summary
