"""Writers of annotated images (:class:`~scalenet_mm.datasets.annotations.BoxedSample`) in the on-disk layouts
of real data sets, so that the loaders of real data read generated data unchanged.

Every writer takes the layout directory, ``splits`` (``{split name: [samples]}``, split names from
:data:`SPLIT_FOLDERS`), the class names and the image side, and returns the paths it wrote::

    imagenet/{train,val,selection}/<class_name>/<stem>.png      # test -> val (ImageNet's naming)
    imagenet/meta/{train,val,selection}.txt, meta/classes.txt   # "<class_name>/<file> <label>" lines
    imagenet/{train,val,selection}_boxes/<stem>.xml             # Pascal-VOC boxes, 1-based inclusive
    cub/CUB_200_2011/...                                        # train + test, the official files
    cub/segmentations/<NNN.class_name>/<stem>.png               # primary-object mask, 0/255
    cub/CUB_200_2011_selection/... (+ its own segmentations/)   # selection: a second CUB tree, all "test"
    coco/{train2017,val2017,selection2017}/<stem>.jpg
    coco/annotations/instances_{train2017,val2017,selection2017}.json

CUB-200-2011 has only a train/test flag, so a selection split (a box-labelled split for choosing
hyper-parameters, as the ``train-fullsup`` split of Choe et al.) gets its own CUB tree whose images are all
flagged ``is_training_image = 0``; :class:`~scalenet_mm.datasets.CUBWithBoxes` reads it with
``split='selection'``. CUB ``bounding_boxes.txt`` holds ``<id> <x> <y> <width> <height>`` with ``x = x0`` and
``width = x1 - x0 + 1``; COCO ``bbox`` is ``[x0, y0, x1 - x0 + 1, y1 - y0 + 1]`` (what
``pycocotools.mask.toBbox`` returns for the mask), ``area`` the mask pixel count and ``segmentation`` an
uncompressed RLE. PNG and JPEG encodings are deterministic: the same pixels give the same bytes.
"""
import json
import os
import os.path as osp
from typing import Callable, Dict, Iterable, List, Mapping, Sequence
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image

from .annotations import BoxedObject, BoxedSample, mask_to_coco_rle

__all__ = ['LAYOUTS', 'SPLIT_FOLDERS', 'write_imagenet', 'write_cub', 'write_coco', 'LAYOUT_WRITERS',
           'cub_class_dir', 'voc_xml']

LAYOUTS = ('imagenet', 'cub', 'coco')
#: Folder of each split per layout (CUB keeps train + test in one tree, the selection split in a second one).
SPLIT_FOLDERS: Dict[str, Dict[str, str]] = {
    'imagenet': {'train': 'train', 'test': 'val', 'selection': 'selection'},
    'coco': {'train': 'train2017', 'test': 'val2017', 'selection': 'selection2017'},
    'cub': {'train': 'CUB_200_2011', 'test': 'CUB_200_2011', 'selection': 'CUB_200_2011_selection'},
}

Splits = Mapping[str, Sequence[BoxedSample]]


def _check_splits(splits: Splits, layout: str) -> None:
    unknown = [s for s in splits if s not in SPLIT_FOLDERS[layout]]
    if unknown:
        raise ValueError(f'unknown split(s) {unknown} for the {layout} layout; choose from '
                         f'{list(SPLIT_FOLDERS[layout])}')


def _write_text(path: str, lines: Iterable[str]) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        for line in lines:
            f.write(line + '\n')


def _save_jpeg(image: np.ndarray, path: str) -> None:
    Image.fromarray(image).save(path, format='JPEG', quality=95, subsampling=0)


def _extra_fields(obj: BoxedObject) -> Dict:
    """Generator-specific per-object annotations (e.g. truncation), written next to the standard ones."""
    extra = getattr(obj, 'extra_fields', None)
    return extra() if callable(extra) else {}


def voc_xml(filename: str, folder: str, size: int, objects: Iterable[BoxedObject], classes: Sequence[str]) -> str:
    """Pascal-VOC / ImageNet-style annotation. Coordinates are 1-based inclusive (VOC)."""
    parts = [
        '<annotation>', f'\t<folder>{escape(folder)}</folder>', f'\t<filename>{escape(filename)}</filename>',
        '\t<source>\n\t\t<database>scalenet_mm synthetic</database>\n\t</source>',
        f'\t<size>\n\t\t<width>{size}</width>\n\t\t<height>{size}</height>\n\t\t<depth>3</depth>\n\t</size>',
        '\t<segmented>0</segmented>'
    ]
    for obj in objects:
        x0, y0, x1, y1 = obj.bbox
        truncated = int(bool(getattr(obj, 'truncated', False)))
        parts.append('\t<object>\n'
                     f'\t\t<name>{escape(classes[obj.label])}</name>\n'
                     f'\t\t<pose>Unspecified</pose>\n\t\t<truncated>{truncated}</truncated>\n'
                     '\t\t<difficult>0</difficult>\n'
                     '\t\t<bndbox>\n'
                     f'\t\t\t<xmin>{x0 + 1}</xmin>\n\t\t\t<ymin>{y0 + 1}</ymin>\n'
                     f'\t\t\t<xmax>{x1 + 1}</xmax>\n\t\t\t<ymax>{y1 + 1}</ymax>\n'
                     '\t\t</bndbox>\n\t</object>')
    parts.append('</annotation>\n')
    return '\n'.join(parts)


def write_imagenet(out: str, splits: Splits, classes: Sequence[str], size: int, **_) -> Dict[str, str]:
    """ImageNet folders (PNG, lossless) with ``meta/<folder>.txt`` ann files and VOC XML boxes."""
    _check_splits(splits, 'imagenet')
    os.makedirs(osp.join(out, 'meta'), exist_ok=True)
    _write_text(osp.join(out, 'meta', 'classes.txt'), classes)
    paths = {}
    for split, samples in splits.items():
        folder = SPLIT_FOLDERS['imagenet'][split]
        box_dir = osp.join(out, f'{folder}_boxes')
        os.makedirs(box_dir, exist_ok=True)
        for name in classes:
            os.makedirs(osp.join(out, folder, name), exist_ok=True)
        lines = []
        for s in samples:
            rel = f'{classes[s.label]}/{s.stem}.png'
            Image.fromarray(s.image).save(osp.join(out, folder, rel), format='PNG')
            lines.append(f'{rel} {s.label}')
            with open(osp.join(box_dir, f'{s.stem}.xml'), 'w', encoding='utf-8') as f:
                f.write(voc_xml(f'{s.stem}.png', folder, size, s.objects, classes))
        _write_text(osp.join(out, 'meta', f'{folder}.txt'), lines)
        paths[folder] = osp.join(out, folder)
    return paths


def cub_class_dir(label: int, classes: Sequence[str]) -> str:
    return f'{label + 1:03d}.{classes[label]}'


def _write_cub_tree(base: str, seg_root: str, parts: List[tuple], classes: Sequence[str]) -> None:
    """One CUB-200-2011 tree; ``parts`` = ``[(samples, is_training_image), ...]`` in image-id order."""
    for label in range(len(classes)):
        os.makedirs(osp.join(base, 'images', cub_class_dir(label, classes)), exist_ok=True)
        os.makedirs(osp.join(seg_root, cub_class_dir(label, classes)), exist_ok=True)
    images, labels, split_lines, boxes = [], [], [], []
    image_id = 0
    for samples, is_train in parts:
        for s in samples:
            image_id += 1
            class_dir = cub_class_dir(s.label, classes)
            rel = f'{class_dir}/{s.stem}.jpg'
            _save_jpeg(s.image, osp.join(base, 'images', rel))
            obj = s.objects[s.primary]
            Image.fromarray(obj.mask.astype(np.uint8) * 255).save(
                osp.join(seg_root, class_dir, f'{s.stem}.png'), format='PNG')
            x0, y0, x1, y1 = obj.bbox
            images.append(f'{image_id} {rel}')
            labels.append(f'{image_id} {s.label + 1}')
            split_lines.append(f'{image_id} {int(is_train)}')
            boxes.append(f'{image_id} {float(x0):.1f} {float(y0):.1f} '
                         f'{float(x1 - x0 + 1):.1f} {float(y1 - y0 + 1):.1f}')
    _write_text(osp.join(base, 'images.txt'), images)
    _write_text(osp.join(base, 'image_class_labels.txt'), labels)
    _write_text(osp.join(base, 'train_test_split.txt'), split_lines)
    _write_text(osp.join(base, 'bounding_boxes.txt'), boxes)
    _write_text(osp.join(base, 'classes.txt'), [f'{i + 1} {cub_class_dir(i, classes)}' for i in range(len(classes))])


def write_cub(out: str, splits: Splits, classes: Sequence[str], size: int, **_) -> Dict[str, str]:
    """CUB-200-2011 (JPEG images, primary-object box and mask per image); see the module docstring."""
    _check_splits(splits, 'cub')
    base = osp.join(out, 'CUB_200_2011')
    seg_root = osp.join(out, 'segmentations')
    _write_cub_tree(base, seg_root, [(splits.get('train', ()), True), (splits.get('test', ()), False)], classes)
    paths = {'data_root': base, 'segmentations': seg_root}
    if 'selection' in splits:
        sel = osp.join(out, SPLIT_FOLDERS['cub']['selection'])
        _write_cub_tree(sel, osp.join(sel, 'segmentations'), [(splits['selection'], False)], classes)
        paths['selection'] = sel
    return paths


def write_coco(out: str, splits: Splits, classes: Sequence[str], size: int, description: str = '',
               version: str = '', **_) -> Dict[str, str]:
    """COCO instances files (every object: box, RLE mask, area), one per split; annotation ids run across
    the splits in the order given."""
    _check_splits(splits, 'coco')
    ann_dir = osp.join(out, 'annotations')
    os.makedirs(ann_dir, exist_ok=True)
    categories = [{'id': i + 1, 'name': n, 'supercategory': 'shape'} for i, n in enumerate(classes)]
    paths = {}
    ann_id = 0
    for split, samples in splits.items():
        folder = SPLIT_FOLDERS['coco'][split]
        os.makedirs(osp.join(out, folder), exist_ok=True)
        images, anns = [], []
        for image_id, s in enumerate(samples, start=1):
            file_name = f'{s.stem}.jpg'
            _save_jpeg(s.image, osp.join(out, folder, file_name))
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
                    **_extra_fields(obj),
                })
        doc = {
            'info': {'description': description, 'version': version},
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


LAYOUT_WRITERS: Dict[str, Callable[..., Dict[str, str]]] = {
    'imagenet': write_imagenet, 'cub': write_cub, 'coco': write_coco}
