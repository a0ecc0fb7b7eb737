"""ImageNet-style classification data with Pascal-VOC XML boxes (as ImageNet's bbox annotations).

Layout (the images and ann files as for mmpretrain's ``ImageNet``/``CustomDataset``)::

    <data_root>/train/<class_dir>/<file>          <data_root>/val/[<class_dir>/]<file>
    <data_root>/meta/{train.txt, val.txt}         # "<path relative to the split folder> <label>"
    <data_root>/meta/classes.txt                  # optional: one class name per line
    <data_root>/<bbox_dir>/<stem>.xml             # e.g. val_boxes/ (ILSVRC2012_bbox_val_v3)
    <data_root>/<bbox_dir>/<class_dir>/<stem>.xml # also accepted (ImageNet train boxes)

Box conversion: VOC / ImageNet XML coordinates are **1-based inclusive** pixels. The loader
subtracts 1 from ``xmin, ymin, xmax, ymax`` to return **0-based inclusive** ``[x0, y0, x1, y1]``
(pass ``voc_one_based=False`` for XML files already in 0-based coordinates).

Each sample: ``img_path``, ``gt_label``, ``gt_bboxes`` (float32 (N, 4)), ``gt_bboxes_labels``
(int64 (N,): index of the XML ``<name>`` in the classes, -1 when not a known class) and
``bbox_img_shape`` (height, width) from the XML ``<size>`` when present.
"""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import List, Optional, Sequence, Union

import numpy as np
from mmpretrain.datasets import CustomDataset

from scalenet_mm.registry import register_dataset

__all__ = ['ImageNetWithBoxes', 'parse_voc_boxes']


def parse_voc_boxes(path: str, one_based: bool = True):
    """Parse a Pascal-VOC XML file.

    Returns:
        (names, boxes, size): object names, float32 (N, 4) 0-based inclusive ``[x0, y0, x1, y1]``
        (VOC's 1-based values minus 1 when ``one_based``), and ``(height, width)`` or ``None``.
    """
    try:
        tree = ET.parse(path)
    except ET.ParseError as e:
        raise ValueError(f'bbox XML {path} is corrupt: {e}') from e
    node = tree.getroot()
    offset = 1.0 if one_based else 0.0
    names, boxes = [], []
    for k, obj in enumerate(node.iter('object')):
        box = obj.find('bndbox')
        if box is None:
            raise ValueError(f'bbox XML {path}: object {k} has no <bndbox>')
        try:
            coords = [float(box.find(tag).text) - offset for tag in ('xmin', 'ymin', 'xmax', 'ymax')]
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f'bbox XML {path}: object {k} needs numeric <xmin>, <ymin>, <xmax>, '
                             '<ymax>') from None
        if coords[2] < coords[0] or coords[3] < coords[1]:
            raise ValueError(f'bbox XML {path}: object {k} has xmax < xmin or ymax < ymin: {coords}')
        names.append((obj.findtext('name') or '').strip())
        boxes.append(coords)
    size = None
    size_node = node.find('size')
    if size_node is not None:
        try:
            size = (int(size_node.findtext('height')), int(size_node.findtext('width')))
        except (TypeError, ValueError):
            size = None
    return names, np.array(boxes, dtype=np.float32).reshape(-1, 4), size


@register_dataset()
class ImageNetWithBoxes(CustomDataset):
    """ImageNet folder / ann-file data set that also loads each image's VOC XML boxes.

    Args:
        data_root: root of the layout above.
        split: ``'train'``, ``'val'``, ``'selection'`` (the box-labelled selection split of generated data) or
            ``''``. With a split, missing arguments default to
            ``data_prefix=split``, ``ann_file='meta/<split>.txt'`` (if it exists; else the class
            folders are scanned), ``bbox_dir='<split>_boxes'`` and ``classes='meta/classes.txt'``
            (if it exists).
        data_prefix: image folder (relative to ``data_root``).
        ann_file: ``"<relative path> <label>"`` list (relative to ``data_root``); ``''`` scans the
            class folders of ``data_prefix`` (labels = sorted folder index).
        bbox_dir: folder of ``<stem>.xml`` files (relative to ``data_root``). ``None`` without a
            split: no boxes.
        voc_one_based: the XML coordinates are 1-based (VOC/ImageNet): subtract 1.
        missing_boxes: what to do when an image has no XML: ``'error'`` (default), ``'empty'``
            (``gt_bboxes`` of shape (0, 4)) or ``'skip'`` (drop the image).
        **kwargs: other arguments of :class:`mmpretrain.datasets.CustomDataset` (``metainfo``,
            ``classes``, ``pipeline``, ``extensions`` ...).
    """

    def __init__(self,
                 data_root: str = '',
                 split: str = '',
                 data_prefix: str = '',
                 ann_file: str = '',
                 bbox_dir: Optional[str] = None,
                 voc_one_based: bool = True,
                 missing_boxes: str = 'error',
                 metainfo: Optional[dict] = None,
                 classes: Union[str, Sequence[str], None] = None,
                 lazy_init: bool = False,
                 **kwargs):
        if split not in ('', 'train', 'val', 'selection'):
            raise ValueError(f"split must be 'train', 'val', 'selection' or '', got {split!r}")
        if missing_boxes not in ('error', 'empty', 'skip'):
            raise ValueError(f"missing_boxes must be 'error', 'empty' or 'skip', got {missing_boxes!r}")
        self.split = split
        self.voc_one_based = voc_one_based
        self.missing_boxes = missing_boxes

        def under_root(p):
            return p if osp.isabs(p) else osp.join(data_root, p)

        if split:
            data_prefix = data_prefix or split
            if not ann_file and osp.isfile(under_root(osp.join('meta', f'{split}.txt'))):
                ann_file = osp.join('meta', f'{split}.txt')
            if bbox_dir is None:
                bbox_dir = f'{split}_boxes'
            if classes is None and not (metainfo and 'classes' in metainfo) and \
                    osp.isfile(under_root(osp.join('meta', 'classes.txt'))):
                classes = under_root(osp.join('meta', 'classes.txt'))
        img_dir = under_root(data_prefix)
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'image folder not found: {img_dir}. Expected the ImageNet layout '
                                    '<data_root>/<split>/<class_dir>/<file> with ann files '
                                    '<data_root>/meta/<split>.txt')
        if ann_file and not osp.isfile(under_root(ann_file)):
            raise FileNotFoundError(f'ann file not found: {under_root(ann_file)}. Expected lines '
                                    '"<path relative to the image folder> <label>".')
        self.bbox_dir = under_root(bbox_dir) if bbox_dir else None
        if self.bbox_dir is not None and not osp.isdir(self.bbox_dir):
            raise FileNotFoundError(f'bbox folder not found: {self.bbox_dir}. Expected '
                                    'Pascal-VOC files <bbox_dir>/<image stem>.xml (as ImageNet\'s '
                                    'ILSVRC2012_bbox_val_v3); pass bbox_dir=\'\' to load no boxes.')
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            classes=classes,
            lazy_init=lazy_init,
            **kwargs)

    def _find_xml(self, img_path: str) -> Optional[str]:
        stem = osp.splitext(osp.basename(img_path))[0]
        flat = osp.join(self.bbox_dir, stem + '.xml')
        if osp.isfile(flat):
            return flat
        rel_dir = osp.dirname(osp.relpath(img_path, self.img_prefix))
        nested = osp.join(self.bbox_dir, rel_dir, stem + '.xml')
        return nested if osp.isfile(nested) else None

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        if self.bbox_dir is None:
            return data_list
        class_to_idx = {name: i for i, name in enumerate(self.CLASSES or ())}
        out = []
        for info in data_list:
            xml = self._find_xml(info['img_path'])
            if xml is None:
                if self.missing_boxes == 'error':
                    stem = osp.splitext(osp.basename(info['img_path']))[0]
                    raise FileNotFoundError(
                        f'bbox XML not found for image {info["img_path"]}: expected '
                        f'{osp.join(self.bbox_dir, stem + ".xml")} (pass missing_boxes="empty" or '
                        '"skip" for images without boxes)')
                if self.missing_boxes == 'skip':
                    continue
                names, boxes, size = [], np.zeros((0, 4), np.float32), None
            else:
                names, boxes, size = parse_voc_boxes(xml, self.voc_one_based)
            info['gt_bboxes'] = boxes
            info['gt_bboxes_labels'] = np.array([class_to_idx.get(n, -1) for n in names], np.int64)
            if size is not None:
                info['bbox_img_shape'] = size
            out.append(info)
        return out

    def extra_repr(self) -> List[str]:
        return super().extra_repr() + [f'Boxes: \t{self.bbox_dir}']
