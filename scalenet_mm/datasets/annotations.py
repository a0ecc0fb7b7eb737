"""In-memory annotated images shared by the generators and the layout writers.

Conventions (every generator of :mod:`scalenet_mm.datasets` follows them):

* ``bbox`` = ``[x0, y0, x1, y1]`` in **0-based inclusive pixel coordinates**, the exact extent of the object's
  *visible* mask (computed from the drawn mask, never from the drawing parameters);
* ``area_fraction`` = visible mask pixels / (H * W); ``side_fraction`` = max(box w, box h) / S;
* a sample's *primary* object is its largest one: it gives the image-level label of the classification layouts.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np

__all__ = ['BoxedObject', 'BoxedSample', 'mask_to_bbox', 'mask_to_coco_rle']


@dataclass
class BoxedObject:
    """One labelled object: class index, inclusive box, visible mask and its size measures."""
    label: int
    bbox: Tuple[int, int, int, int]
    mask: np.ndarray  # (H, W) bool
    area_fraction: float
    side_fraction: float

    @property
    def area(self) -> int:
        return int(self.mask.sum())


@dataclass
class BoxedSample:
    """One image (H, W, 3 uint8 RGB) of a split with its labelled objects."""
    split: str
    index: int
    image: np.ndarray
    objects: List[BoxedObject] = field(default_factory=list)

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


def mask_to_bbox(mask: np.ndarray) -> Tuple[int, int, int, int]:
    """0-based inclusive ``(x0, y0, x1, y1)`` extent of a non-empty binary mask."""
    cols = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    if cols.size == 0:
        raise ValueError('empty mask has no bounding box')
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


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
