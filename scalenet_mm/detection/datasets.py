"""``CocoImageLabels``: a multi-label classification view of a COCO annotation file.

Each image's label set is the set of categories that occur in it (:func:`image_level_labels`); boxes are
never read. This is the weak supervision of the pseudo-box pipeline: a multi-label classifier trained on it
yields class activation maps for every class present in an image.
"""
import json
import os.path as osp
from typing import List

from mmpretrain.datasets import MultiLabelDataset

from scalenet_mm.registry import register_dataset

from .pseudo_boxes import image_level_labels

__all__ = ['CocoImageLabels']


@register_dataset()
class CocoImageLabels(MultiLabelDataset):
    """Images of a COCO annotation file with their image-level (multi-hot) labels.

    Class index ``i`` is the ``i``-th category of the file sorted by id (so for ids ``1..C``, index =
    id - 1); ``metainfo['classes']`` defaults to the category names in that order.

    Args:
        ann_file: COCO ``instances_*.json`` (relative to ``data_root``).
        data_prefix: image folder (relative to ``data_root``), e.g. ``'train2017/'``.
        skip_empty: drop images without any annotation (default ``False``: they are all-negative samples).
        Other arguments as in :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self, ann_file: str, data_root: str = '', data_prefix='', skip_empty: bool = False, **kwargs):
        self.skip_empty = skip_empty
        path = ann_file if osp.isabs(ann_file) or not data_root else osp.join(data_root, ann_file)
        with open(path, encoding='utf-8') as f:
            self._coco = json.load(f)
        cats = sorted(self._coco['categories'], key=lambda c: int(c['id']))
        self.category_ids: List[int] = [int(c['id']) for c in cats]
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        metainfo.setdefault('classes', tuple(c['name'] for c in cats))
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix, metainfo=metainfo,
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        if isinstance(self.data_prefix, dict):
            prefix = self.data_prefix.get('img_path', self.data_prefix.get('img', ''))
        else:
            prefix = self.data_prefix
        index = {cid: i for i, cid in enumerate(self.category_ids)}
        labels = image_level_labels(self._coco)
        data_list = []
        for img in sorted(self._coco['images'], key=lambda im: int(im['id'])):
            present = labels[int(img['id'])]
            if self.skip_empty and not present:
                continue
            data_list.append(
                dict(img_path=osp.join(prefix, img['file_name']), gt_label=[index[c] for c in present],
                     img_id=int(img['id'])))
        return data_list
