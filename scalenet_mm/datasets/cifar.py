"""CIFAR-10 / CIFAR-100 from the local python-pickle layout: no download, no md5 check.

Expected layout (what the official ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz``
extract to)::

    <data_root>/cifar-10-batches-py/{data_batch_1, ..., data_batch_5, test_batch, batches.meta}
    <data_root>/cifar-100-python/{train, test, meta}

``data_root`` may also be the ``cifar-10-batches-py`` / ``cifar-100-python`` folder itself. Instead
of md5 sums the loader validates the structure: every batch must unpickle to a dict with ``data``
(N, 3072) uint8 and ``labels`` (CIFAR-10) / ``fine_labels`` (CIFAR-100) of length N with values in
``[0, num_classes)``; problems raise an error naming the file.

Splits (``split=``):

* ``'train'``: the first ``50000 - num_val`` images of the official training set, in file order
  (``data_batch_1`` ... ``data_batch_5``; ``train`` for CIFAR-100);
* ``'val'``: the last ``num_val`` images of the official training set (default 5000: the 45k/5k
  split used for model selection in the ScaleNet paper);
* ``'trainval'``: the full official training set;
* ``'test'``: the official test set.

Samples are ``{'img': HxWx3 uint8 (RGB), 'gt_label': int}`` like mmpretrain's ``CIFAR10``, so the
pipelines start from ``img`` (no ``LoadImageFromFile``).
"""
import os.path as osp
import pickle
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmpretrain.datasets import BaseDataset

from scalenet_mm.registry import register_dataset

__all__ = ['CIFAR10Local', 'CIFAR100Local', 'load_cifar_batch']

SPLITS = ('train', 'val', 'trainval', 'test')


def _str_keys(obj):
    if isinstance(obj, dict):
        return {(k.decode('latin1') if isinstance(k, bytes) else k): v for k, v in obj.items()}
    return obj


def load_cifar_batch(path: str, label_key: str, num_classes: int, layout_hint: str = '') -> Dict:
    """Load and validate one CIFAR pickle; returns ``{'data': (N, 3072) uint8, 'labels': (N,)}``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'CIFAR file not found: {path}. {layout_hint}')
    try:
        with open(path, 'rb') as f:
            entry = _str_keys(pickle.load(f, encoding='latin1'))
    except Exception as e:  # truncated, not a pickle, ...
        raise ValueError(f'CIFAR file {path} is corrupt: cannot unpickle it ({type(e).__name__}: {e}). '
                         f'{layout_hint}') from e
    if not isinstance(entry, dict):
        raise ValueError(f'CIFAR file {path} is corrupt: expected a pickled dict, got '
                         f'{type(entry).__name__}')
    for key in ('data', label_key):
        if key not in entry:
            raise ValueError(f'CIFAR file {path} is corrupt: missing key {key!r} '
                             f'(has {sorted(map(str, entry))})')
    data = entry['data']
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072:
        desc = (f'{data.dtype} array of shape {data.shape}'
                if isinstance(data, np.ndarray) else type(data).__name__)
        raise ValueError(f'CIFAR file {path} is corrupt: "data" must be an (N, 3072) uint8 array, '
                         f'got {desc}')
    try:
        labels = np.asarray(entry[label_key], dtype=np.int64).reshape(-1)
    except (TypeError, ValueError) as e:
        raise ValueError(f'CIFAR file {path} is corrupt: {label_key!r} is not a list of ints') from e
    if len(labels) != len(data):
        raise ValueError(f'CIFAR file {path} is corrupt: {len(data)} images but {len(labels)} '
                         f'{label_key!r}')
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'CIFAR file {path} is corrupt: {label_key!r} outside [0, {num_classes}) '
                         f'(min {labels.min()}, max {labels.max()})')
    return {'data': data, 'labels': labels}


@register_dataset()
class CIFAR10Local(BaseDataset):
    """CIFAR-10 read from the local pickle layout, with the 45k/5k train/val split.

    Args:
        data_root: directory containing ``cifar-10-batches-py`` (or that folder itself).
        split: ``'train'`` | ``'val'`` | ``'trainval'`` | ``'test'`` (see the module doc).
        num_val: images at the end of the official training set used for ``'val'``.
        data_prefix: optional sub-directory of ``data_root`` holding the data.
        test_mode: defaults to ``split != 'train' and split != 'trainval'``.
        metainfo / classes: override the class names (default: read from the meta file).
        **kwargs: other arguments of :class:`mmpretrain.datasets.BaseDataset` (``pipeline``,
            ``indices``, ``lazy_init`` ...).
    """
    base_folder = 'cifar-10-batches-py'
    train_files = ('data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5')
    test_files = ('test_batch', )
    meta_file = 'batches.meta'
    meta_key = 'label_names'
    label_key = 'labels'
    num_classes = 10

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 num_val: int = 5000,
                 data_prefix: str = '',
                 test_mode: Optional[bool] = None,
                 metainfo: Optional[dict] = None,
                 classes: Union[str, Sequence[str], None] = None,
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if int(num_val) < 0:
            raise ValueError(f'num_val must be >= 0, got {num_val}')
        self.split = split
        self.num_val = int(num_val)
        if test_mode is None:
            test_mode = split in ('val', 'test')
        self.folder = self._resolve_folder(osp.join(data_root, data_prefix) if data_prefix else data_root)
        if classes is None and not (metainfo and 'classes' in metainfo):
            metainfo = {'classes': tuple(self._load_meta()), **(metainfo or {})}
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(root=data_prefix),
            test_mode=test_mode,
            classes=classes,
            **kwargs)

    # ----------------------------------------------------------------------------------------------
    @property
    def layout_hint(self) -> str:
        files = ', '.join(self.train_files + self.test_files + (self.meta_file, ))
        return (f'Expected the official python-pickle layout <data_root>/{self.base_folder}/'
                f'{{{files}}} (extract {self.base_folder.replace("-batches-py", "-python")}.tar.gz '
                'there; nothing is downloaded).')

    def _resolve_folder(self, root: str) -> str:
        cand = osp.join(root, self.base_folder)
        if osp.isdir(cand):
            return cand
        if osp.basename(osp.normpath(root)) == self.base_folder or \
                osp.isfile(osp.join(root, self.meta_file)):
            return root
        raise FileNotFoundError(f'{self.__class__.__name__}: no {self.base_folder} directory in '
                                f'{root!r}. {self.layout_hint}')

    def _load_meta(self) -> List[str]:
        path = osp.join(self.folder, self.meta_file)
        if not osp.isfile(path):
            raise FileNotFoundError(f'CIFAR meta file not found: {path}. {self.layout_hint}')
        try:
            with open(path, 'rb') as f:
                meta = _str_keys(pickle.load(f, encoding='latin1'))
        except Exception as e:
            raise ValueError(f'CIFAR meta file {path} is corrupt: cannot unpickle it '
                             f'({type(e).__name__}: {e})') from e
        if not isinstance(meta, dict) or self.meta_key not in meta:
            raise ValueError(f'CIFAR meta file {path} is corrupt: no {self.meta_key!r} entry')
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta[self.meta_key]]
        if len(names) != self.num_classes:
            raise ValueError(f'CIFAR meta file {path} lists {len(names)} classes in '
                             f'{self.meta_key!r}, expected {self.num_classes}')
        return names

    def _load_files(self, names: Sequence[str]):
        datas, labels = [], []
        for name in names:
            batch = load_cifar_batch(
                osp.join(self.folder, name), self.label_key, self.num_classes, self.layout_hint)
            datas.append(batch['data'])
            labels.append(batch['labels'])
        return np.concatenate(datas), np.concatenate(labels)

    def load_data_list(self) -> List[dict]:
        if self.split == 'test':
            data, labels = self._load_files(self.test_files)
        else:
            data, labels = self._load_files(self.train_files)
            n_total = len(labels)
            if self.split != 'trainval' and (self.num_val > n_total or (
                    self.split == 'val' and self.num_val == 0) or (
                    self.split == 'train' and self.num_val == n_total)):
                raise ValueError(f'num_val={self.num_val} does not fit the {n_total} training '
                                 f'images in {self.folder} (split {self.split!r} would be empty)')
            n_train = n_total - self.num_val
            if self.split == 'train':
                data, labels = data[:n_train], labels[:n_train]
            elif self.split == 'val':
                data, labels = data[n_train:], labels[n_train:]
        imgs = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # HWC, RGB
        return [{'img': np.ascontiguousarray(img), 'gt_label': int(lab)}
                for img, lab in zip(imgs, labels)]

    def extra_repr(self) -> List[str]:
        return [f'Data folder: \t{self.folder}', f'Split: \t{self.split} (num_val={self.num_val})']


@register_dataset()
class CIFAR100Local(CIFAR10Local):
    """CIFAR-100 (fine labels) read from the local ``cifar-100-python`` layout; see
    :class:`CIFAR10Local` for the arguments and splits."""
    base_folder = 'cifar-100-python'
    train_files = ('train', )
    test_files = ('test', )
    meta_file = 'meta'
    meta_key = 'fine_label_names'
    label_key = 'fine_labels'
    num_classes = 100
