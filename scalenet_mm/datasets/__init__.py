"""Data sets of scalenet_mm: the synthetic default data and loaders of standard on-disk layouts.

* :func:`generate_dataset` writes the synthetic shape data in the ImageNet, CUB-200-2011 and COCO
  layouts; :func:`write_cifar_layout` writes it in the CIFAR pickle layout.
* :class:`CUBWithBoxes`, :class:`ImageNetWithBoxes`, :class:`CIFAR10Local`, :class:`CIFAR100Local`
  read those layouts (and the real data sets); they are registered in the ``DATASETS`` registries
  of both mmpretrain and mmdet. COCO-layout data is read with mmdet's ``CocoDataset``.
"""
from .cifar import CIFAR10Local, CIFAR100Local, load_cifar_batch
from .cifar_writer import write_cifar_layout
from .cub import CUBWithBoxes
from .imagenet_boxes import ImageNetWithBoxes, parse_voc_boxes
from .imagenet_local import ImageNetLocal
from .synthetic import CLASSES as SYNTHETIC_CLASSES
from .synthetic import generate_dataset, generate_samples, render_sample
from .transforms import CropAt, ten_crop_tta_pipeline

__all__ = [
    'CIFAR10Local', 'CIFAR100Local', 'load_cifar_batch', 'write_cifar_layout', 'CUBWithBoxes',
    'ImageNetWithBoxes', 'parse_voc_boxes', 'SYNTHETIC_CLASSES', 'generate_dataset',
    'generate_samples', 'render_sample', 'ImageNetLocal', 'CropAt', 'ten_crop_tta_pipeline'
]
from .wsol_transforms import LoadWSOLMask  # noqa: E402,F401  (registers the WSOL transforms)
