"""The no-learning pseudo-box control: class-agnostic saliency boxes labelled with the image-level classes.

If a detector trained on these boxes did as well as one trained on CAM pseudo-boxes, the classifier's CAMs
would add nothing over "where is something salient", i.e. the data would be too easy to test the weak
pipeline. The control therefore differs from the weak pipeline in the map only:

* the map is ``saliency_fn(image)``: any callable from an ``(H, W, 3)`` uint8 RGB image to a 2-D map (e.g. the
  benchmark's controls in :mod:`scalenet_mm.wsol`), computed without any training;
* boxes come from the same extraction as the CAM pseudo-boxes (:func:`~scalenet_mm.detection.peak_instance_boxes`
  by default, or any ``box_fn``);
* a saliency map says nothing about classes, so **every box gets every image-level class** of its image (an
  image labelled ``{A, B}`` with two salient regions yields four boxes). Only which classes occur in each image
  is read from the annotation file (:func:`~scalenet_mm.detection.image_level_labels`), never its boxes.
"""
import os.path as osp
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .peak_boxes import peak_instance_boxes
from .pseudo_boxes import build_pseudo_coco, image_level_labels

__all__ = ['saliency_boxes', 'saliency_pseudo_coco']

SaliencyFn = Callable[[np.ndarray], np.ndarray]
BoxFn = Callable[[np.ndarray, Tuple[int, int], float], np.ndarray]


def saliency_boxes(image: np.ndarray,
                   saliency_fn: SaliencyFn,
                   classes: Sequence[int],
                   thr: float = 0.5,
                   box_fn: Optional[BoxFn] = None,
                   **peak_kwargs) -> Dict[int, np.ndarray]:
    """``{category_id: (K, 4) inclusive xyxy boxes}`` of one image: the same saliency boxes for every class.

    Args:
        image: ``(H, W, 3)`` uint8 RGB image.
        saliency_fn: ``image -> (h, w)`` map (any resolution; resized to ``(H, W)``).
        classes: the image-level labels of the image (category ids); ``[]`` gives no boxes.
        thr: the box threshold ``tau`` (local, as for CAMs).
        box_fn: ``(map, (H, W), tau) -> boxes``; default :func:`peak_instance_boxes` with ``peak_kwargs``.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'image must be (H, W, 3) RGB, got shape {image.shape}')
    if not classes:
        return {}
    saliency = np.asarray(saliency_fn(image))
    if saliency.ndim != 2:
        raise ValueError(f'saliency_fn must return a 2-D (h, w) map, got shape {saliency.shape}')
    size = image.shape[:2]
    if box_fn is None:
        boxes = peak_instance_boxes(saliency, size, thr=thr, **peak_kwargs).boxes
    elif peak_kwargs:
        raise ValueError(f'peak_kwargs {sorted(peak_kwargs)} only apply to the default box_fn')
    else:
        boxes = np.asarray(box_fn(saliency, size, thr), dtype=np.float64).reshape(-1, 4)
    return {int(c): boxes.copy() for c in classes}


def saliency_pseudo_coco(source: Union[str, Mapping],
                         img_dir: str,
                         saliency_fn: SaliencyFn,
                         thr: float = 0.5,
                         box_fn: Optional[BoxFn] = None,
                         **peak_kwargs) -> Dict:
    """A pseudo-annotation COCO dict for the images of ``source`` from saliency boxes (see the module docstring).

    Args:
        source: COCO annotation file (path or dict) of the training images; only its ``images``, ``categories``
            and image-level labels are read.
        img_dir: folder of the images (``file_name`` is relative to it).
        saliency_fn / thr / box_fn / peak_kwargs: as in :func:`saliency_boxes`.
    """
    import mmcv
    from mmengine.fileio import load

    coco = load(source) if isinstance(source, str) else source
    labels = image_level_labels(coco)
    boxes = {}
    for img in coco['images']:
        image_id = int(img['id'])
        if not labels[image_id]:
            continue
        path = osp.join(img_dir, img['file_name'])
        image = mmcv.imread(path, channel_order='rgb')
        if image is None:
            raise FileNotFoundError(f'cannot read image {path}; is img_dir {img_dir!r} the folder of {source!r}?')
        boxes[image_id] = saliency_boxes(image, saliency_fn, labels[image_id], thr, box_fn, **peak_kwargs)
    return build_pseudo_coco(coco, boxes, description='saliency pseudo-boxes (no-learning control)')
