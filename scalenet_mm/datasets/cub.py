"""CUB-200-2011 with bounding boxes (and optional segmentation masks).

Expected layout (the official ``CUB_200_2011.tgz``; ``segmentations.tgz`` extracts next to it)::

    <data_root>/images/<NNN.class_name>/<file>.jpg
    <data_root>/images.txt               # <image_id> <NNN.class_name>/<file>.jpg
    <data_root>/image_class_labels.txt   # <image_id> <class_id>          (1-based class ids)
    <data_root>/train_test_split.txt     # <image_id> <is_training_image> (1 = train, 0 = test)
    <data_root>/bounding_boxes.txt       # <image_id> <x> <y> <width> <height>  (floats, pixels)
    <data_root>/classes.txt              # <class_id> <NNN.class_name>
    <data_root>/../segmentations/<NNN.class_name>/<file>.png   # optional (or <data_root>/segmentations)

``data_root`` may be the ``CUB_200_2011`` folder or its parent. ``split='selection'`` reads the box-labelled
selection split of generated data (:mod:`scalenet_mm.datasets.layouts`): a second CUB tree next to the first,
``<CUB root>_selection``, whose images are all flagged ``is_training_image = 0``. Each sample has ``img_path``,
``gt_label`` (0-based: ``class_id - 1``), ``gt_bboxes`` (float32 (1, 4) ``[x0, y0, x1, y1]`` in
0-based inclusive pixels: ``x0 = x``, ``x1 = x + width - 1``, same for y), ``gt_bboxes_labels``,
``img_id`` (the CUB image id) and, when the mask exists, ``mask_path``.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmpretrain.datasets import BaseDataset

from scalenet_mm.registry import register_dataset

__all__ = ['CUBWithBoxes', 'resolve_cub_selection_root']

_LAYOUT = ('the CUB-200-2011 layout: <data_root>/{images/, images.txt, image_class_labels.txt, '
           'train_test_split.txt, bounding_boxes.txt, classes.txt} with data_root the '
           'CUB_200_2011 folder (or its parent)')
_REQUIRED = ('images.txt', 'image_class_labels.txt', 'train_test_split.txt', 'bounding_boxes.txt',
             'classes.txt')


def _read_table(path: str, num_fields: int, what: str) -> Dict[int, List[str]]:
    """``{id: [fields...]}`` of a whitespace-separated CUB text file ``<id> <field> ...``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'CUB file not found: {path} ({what}). Expected {_LAYOUT}.')
    table: Dict[int, List[str]] = {}
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.split()
            # image paths may in principle contain spaces: keep the rest of the line as one field
            if num_fields == 1 and len(parts) > 2:
                parts = [parts[0], line.strip().split(None, 1)[1]]
            if len(parts) != num_fields + 1:
                raise ValueError(f'{path}:{lineno}: expected "<id> " + {num_fields} field(s) '
                                 f'({what}), got {line.strip()!r}')
            try:
                key = int(parts[0])
            except ValueError:
                raise ValueError(f'{path}:{lineno}: id {parts[0]!r} is not an integer') from None
            if key in table:
                raise ValueError(f'{path}:{lineno}: duplicate id {key}')
            table[key] = parts[1:]
    return table


def resolve_cub_root(data_root: str) -> str:
    """The directory holding ``images.txt``: ``data_root`` or ``data_root/CUB_200_2011``."""
    if osp.isfile(osp.join(data_root, 'images.txt')):
        return data_root
    nested = osp.join(data_root, 'CUB_200_2011')
    if osp.isfile(osp.join(nested, 'images.txt')):
        return nested
    raise FileNotFoundError(f'CUB file not found: {osp.join(data_root, "images.txt")} '
                            f'(nor {osp.join(nested, "images.txt")}). Expected {_LAYOUT}.')


def resolve_cub_selection_root(root: str) -> str:
    """The selection-split tree ``<CUB root>_selection`` of a generated data set."""
    sel = osp.normpath(root) + '_selection'
    if not osp.isfile(osp.join(sel, 'images.txt')):
        raise FileNotFoundError(f'CUB selection split not found: {osp.join(sel, "images.txt")}. The selection split '
                                f'is a second CUB tree next to {root}; generated data sets have one '
                                '(python tools/make_demo_data.py --variant v2).')
    return sel


def read_cub_classes(path: str) -> Tuple[str, ...]:
    """Class names from ``classes.txt`` (``<id> <NNN.name>``), without the ``NNN.`` prefix."""
    table = _read_table(path, 1, 'class names')
    ids = sorted(table)
    if ids != list(range(1, len(ids) + 1)):
        raise ValueError(f'{path}: class ids must be 1..{len(ids)}, got {ids[:5]}...')
    names = []
    for i in ids:
        name = table[i][0]
        prefix, dot, rest = name.partition('.')
        names.append(rest if dot and prefix.isdigit() else name)
    return tuple(names)


@register_dataset()
class CUBWithBoxes(BaseDataset):
    """CUB-200-2011 classification data with the per-image bird box (and mask).

    Args:
        data_root: the ``CUB_200_2011`` directory, or its parent.
        split: ``'train'`` (``is_training_image == 1``), ``'test'``, or ``'selection'`` (the selection tree,
            see the module docstring).
        data_prefix: image folder relative to the CUB root. Defaults to ``'images'``.
        seg_dir: segmentation folder (``<class_dir>/<stem>.png``). ``None``: use
            ``<root>/segmentations`` or ``<root>/../segmentations`` if one exists; ``''``/``False``:
            no masks. A relative path is taken relative to the CUB root.
        with_mask: add ``mask_path`` for images whose mask file exists.
        test_mode: defaults to ``split == 'test'``.
        metainfo / classes: override the class names (default: ``classes.txt`` without the
            ``NNN.`` prefixes).
        **kwargs: other arguments of :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 data_prefix: str = 'images',
                 seg_dir: Union[str, bool, None] = None,
                 with_mask: bool = True,
                 test_mode: Optional[bool] = None,
                 metainfo: Optional[dict] = None,
                 classes: Union[str, Sequence[str], None] = None,
                 **kwargs):
        if split not in ('train', 'test', 'selection'):
            raise ValueError(f"split must be 'train', 'test' or 'selection', got {split!r}")
        self.split = split
        root = resolve_cub_root(data_root)
        if split == 'selection':
            root = resolve_cub_selection_root(root)
        for name in _REQUIRED:
            if not osp.isfile(osp.join(root, name)):
                raise FileNotFoundError(f'CUB file not found: {osp.join(root, name)}. '
                                        f'Expected {_LAYOUT}.')
        if classes is None and not (metainfo and 'classes' in metainfo):
            metainfo = {'classes': read_cub_classes(osp.join(root, 'classes.txt')), **(metainfo or {})}
        self.seg_dir = self._resolve_seg_dir(root, seg_dir) if with_mask else None
        if test_mode is None:
            test_mode = split != 'train'
        super().__init__(
            ann_file='images.txt',
            metainfo=metainfo,
            data_root=root,
            data_prefix=data_prefix,
            test_mode=test_mode,
            classes=classes,
            **kwargs)

    @staticmethod
    def _resolve_seg_dir(root: str, seg_dir) -> Optional[str]:
        if seg_dir is False or seg_dir == '':
            return None
        if seg_dir is None:
            for cand in (osp.join(root, 'segmentations'),
                         osp.join(osp.dirname(osp.normpath(root)), 'segmentations')):
                if osp.isdir(cand):
                    return cand
            return None
        path = seg_dir if osp.isabs(seg_dir) else osp.join(root, seg_dir)
        if not osp.isdir(path):
            raise FileNotFoundError(f'CUB segmentation folder not found: {path} (expected '
                                    '<seg_dir>/<NNN.class_name>/<file>.png as in CUB\'s '
                                    'segmentations.tgz)')
        return path

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        images = _read_table(self.ann_file, 1, 'image paths')
        labels = _read_table(osp.join(root, 'image_class_labels.txt'), 1, 'class ids')
        splits = _read_table(osp.join(root, 'train_test_split.txt'), 1, 'train/test flags')
        boxes = _read_table(osp.join(root, 'bounding_boxes.txt'), 4, 'boxes x y width height')
        num_classes = len(self.CLASSES) if self.CLASSES is not None else None
        want = 1 if self.split == 'train' else 0

        for table, fname in ((labels, 'image_class_labels.txt'), (splits, 'train_test_split.txt'),
                             (boxes, 'bounding_boxes.txt')):
            missing = [i for i in images if i not in table]
            if missing:
                raise ValueError(f'CUB image id {missing[0]} (of {len(missing)} ids) listed in '
                                 f'{self.ann_file} has no entry in {osp.join(root, fname)}')
            extra = [i for i in table if i not in images]
            if extra:
                raise ValueError(f'CUB image id {extra[0]} (of {len(extra)} ids) in '
                                 f'{osp.join(root, fname)} is not listed in {self.ann_file}')

        data_list = []
        for img_id in sorted(images):
            flag = splits[img_id][0]
            if flag not in ('0', '1'):
                raise ValueError(f'CUB image id {img_id}: is_training_image must be 0 or 1, got '
                                 f'{flag!r} in train_test_split.txt')
            if int(flag) != want:
                continue
            try:
                label = int(labels[img_id][0]) - 1
                x, y, w, h = (float(v) for v in boxes[img_id])
            except ValueError:
                raise ValueError(f'CUB image id {img_id}: non-numeric class id or box '
                                 f'({labels[img_id]}, {boxes[img_id]})') from None
            if label < 0 or (num_classes is not None and label >= num_classes):
                raise ValueError(f'CUB image id {img_id}: class id {label + 1} outside '
                                 f'1..{num_classes} (image_class_labels.txt)')
            if w <= 0 or h <= 0:
                raise ValueError(f'CUB image id {img_id}: non-positive box size {w} x {h} '
                                 '(bounding_boxes.txt)')
            rel = images[img_id][0]
            info = {
                'img_path': osp.join(self.img_prefix, rel),
                'gt_label': label,
                'img_id': img_id,
                # CUB boxes are x, y, width, height in pixels: inclusive end = start + size - 1
                'gt_bboxes': np.array([[x, y, x + w - 1.0, y + h - 1.0]], dtype=np.float32),
                'gt_bboxes_labels': np.array([label], dtype=np.int64),
            }
            if self.seg_dir is not None:
                mask_path = osp.join(self.seg_dir, osp.splitext(rel)[0] + '.png')
                if osp.isfile(mask_path):
                    info['mask_path'] = mask_path
            data_list.append(info)
        return data_list

    def extra_repr(self) -> List[str]:
        return super().extra_repr() + [f'Split: \t{self.split}', f'Masks: \t{self.seg_dir}']
