"""Write a small data set in the official CIFAR-10 / CIFAR-100 python-pickle layout.

The files have exactly the structure of the real archives, so tests and demos read them through the
same loader (:class:`scalenet_mm.datasets.CIFAR10Local` / ``CIFAR100Local``) as real data::

    <root>/cifar-10-batches-py/{data_batch_1, ..., data_batch_5, test_batch, batches.meta}
    <root>/cifar-100-python/{train, test, meta}

Every batch is a pickled dict with ``data`` (N, 3072) uint8 (row-major 32x32 planes R, G, B),
``labels`` (CIFAR-10) or ``fine_labels`` + ``coarse_labels`` (CIFAR-100), ``filenames`` and
``batch_label``; the meta files hold ``label_names`` (CIFAR-10) or ``fine_label_names`` and
``coarse_label_names`` (CIFAR-100).

Images come from the synthetic shape generator (rendered at ``image_size`` and down-sampled to
32x32). The class of label ``l`` is shape ``l % 8`` in variant ``l // 8``: variant 0 is the colour
image, 1 its grey-scale version, 2 its colour-inverted version; labels with variant >= 3 (only
with ``num_classes=100``) repeat variant 0..2 looks, so they are not visually separable — fine for
tests of the data path, not for accuracy.
"""
import os
import os.path as osp
import pickle
from typing import Callable, Dict, Mapping, Sequence, Tuple, Union

import numpy as np
from PIL import Image

from .synthetic import CLASSES, generate_samples

__all__ = ['write_cifar_layout', 'CIFAR10_FOLDER', 'CIFAR100_FOLDER']

CIFAR10_FOLDER = 'cifar-10-batches-py'
CIFAR100_FOLDER = 'cifar-100-python'
_VARIANTS = ('', 'gray', 'inverted')


def _label_name(label: int) -> str:
    shape, variant = CLASSES[label % len(CLASSES)], label // len(CLASSES)
    suffix = _VARIANTS[variant] if variant < len(_VARIANTS) else f'v{variant}'
    return f'{shape}_{suffix}' if suffix else shape


def _apply_variant(img: np.ndarray, label: int) -> np.ndarray:
    variant = (label // len(CLASSES)) % len(_VARIANTS)
    if variant == 1:
        gray = np.rint(img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
        return np.repeat(np.clip(gray, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    if variant == 2:
        return 255 - img
    return img


def _to_32(img: np.ndarray) -> np.ndarray:
    if img.shape[:2] == (32, 32):
        return np.ascontiguousarray(img, dtype=np.uint8)
    return np.asarray(Image.fromarray(img).resize((32, 32), Image.BILINEAR), dtype=np.uint8)


def _render(split: str, labels: np.ndarray, image_source: Union[str, Callable], seed: int,
            image_size: int) -> np.ndarray:
    """(N, 32, 32, 3) uint8 images for ``labels``."""
    n = len(labels)
    if callable(image_source):
        imgs = [_to_32(np.asarray(image_source(split, i, int(lab)), dtype=np.uint8))
                for i, lab in enumerate(labels)]
    elif image_source == 'synthetic':
        samples = generate_samples(n, image_size, False, seed, split,
                                   labels=[int(lab) % len(CLASSES) for lab in labels])
        imgs = [_to_32(_apply_variant(s.image, int(lab))) for s, lab in zip(samples, labels)]
    elif image_source == 'random':
        rng = np.random.default_rng([seed, 0 if split == 'train' else 1, 7])
        return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    else:
        raise ValueError(f"image_source must be 'synthetic', 'random' or a callable "
                         f"(split, index, label) -> HxWx3 uint8, got {image_source!r}")
    for i, img in enumerate(imgs):
        if img.shape != (32, 32, 3):
            raise ValueError(f'image {i} of split {split} has shape {img.shape}, expected HxWx3')
    return np.stack(imgs) if imgs else np.zeros((0, 32, 32, 3), np.uint8)


def _to_rows(imgs: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) HWC -> (N, 3072) CHW-flattened, as in the CIFAR pickles."""
    return np.ascontiguousarray(imgs.transpose(0, 3, 1, 2).reshape(len(imgs), 3072), dtype=np.uint8)


def _dump(obj: Dict, path: str) -> None:
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=2)


def write_cifar_layout(root: str,
                       num_per_split: Union[int, Sequence[int], Mapping[str, int]] = 100,
                       num_classes: int = 10,
                       image_source: Union[str, Callable] = 'synthetic',
                       seed: int = 0,
                       image_size: int = 64) -> Dict:
    """Write a CIFAR-format pickle set under ``root``.

    Args:
        root: output directory; the files go to ``<root>/cifar-10-batches-py`` (``num_classes=10``)
            or ``<root>/cifar-100-python`` (``num_classes=100``).
        num_per_split: images per split: an int (same for train and test), a pair
            ``(num_train, num_test)`` or a dict ``{'train': n, 'test': m}``. The train split is what
            the loader later divides into train/val (``num_val`` last images are val).
        num_classes: 10 or 100.
        image_source: ``'synthetic'`` (shape images, see the module doc), ``'random'`` (uniform
            noise, fastest) or a callable ``(split, index, label) -> HxWx3 uint8`` (any size; it is
            resized to 32x32).
        seed: labels and images are deterministic in ``seed``.
        image_size: render size of synthetic images before down-sampling to 32x32.

    Returns:
        dict with ``folder`` (the written directory), ``files``, ``num_train``, ``num_test``,
        ``classes``.
    """
    if num_classes not in (10, 100):
        raise ValueError(f'num_classes must be 10 or 100, got {num_classes}')
    if isinstance(num_per_split, Mapping):
        num_train, num_test = int(num_per_split['train']), int(num_per_split['test'])
    elif isinstance(num_per_split, (tuple, list)):
        num_train, num_test = (int(x) for x in num_per_split)
    else:
        num_train = num_test = int(num_per_split)
    folder = osp.join(root, CIFAR10_FOLDER if num_classes == 10 else CIFAR100_FOLDER)
    os.makedirs(folder, exist_ok=True)
    names = [_label_name(i) for i in range(num_classes)]
    splits: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
    for code, (split, n) in enumerate((('train', num_train), ('test', num_test))):
        rng = np.random.default_rng([seed, code, 99])
        labels = rng.permutation(np.arange(n) % num_classes).astype(np.int64)
        splits[split] = (_to_rows(_render(split, labels, image_source, seed, image_size)), labels)

    files = []
    if num_classes == 10:
        data, labels = splits['train']
        chunks = np.array_split(np.arange(len(labels)), 5)
        for k, idx in enumerate(chunks, start=1):
            path = osp.join(folder, f'data_batch_{k}')
            _dump({
                'batch_label': f'training batch {k} of 5',
                'labels': [int(x) for x in labels[idx]],
                'data': data[idx],
                'filenames': [f'train_{i:05d}.png' for i in idx],
            }, path)
            files.append(path)
        data, labels = splits['test']
        path = osp.join(folder, 'test_batch')
        _dump({
            'batch_label': 'testing batch 1 of 1',
            'labels': [int(x) for x in labels],
            'data': data,
            'filenames': [f'test_{i:05d}.png' for i in range(len(labels))],
        }, path)
        files.append(path)
        path = osp.join(folder, 'batches.meta')
        _dump({'num_cases_per_batch': len(chunks[0]), 'label_names': names, 'num_vis': 3072}, path)
        files.append(path)
    else:
        for split in ('train', 'test'):
            data, labels = splits[split]
            path = osp.join(folder, split)
            _dump({
                'filenames': [f'{split}_{i:05d}.png' for i in range(len(labels))],
                'batch_label': f'{"training" if split == "train" else "testing"} batch 1 of 1',
                'fine_labels': [int(x) for x in labels],
                'coarse_labels': [int(x) // 5 for x in labels],
                'data': data,
            }, path)
            files.append(path)
        path = osp.join(folder, 'meta')
        _dump({
            'fine_label_names': names,
            'coarse_label_names': [f'group_{i}' for i in range(20)],
        }, path)
        files.append(path)
    return {
        'folder': folder,
        'files': files,
        'num_train': num_train,
        'num_test': num_test,
        'classes': names,
    }
