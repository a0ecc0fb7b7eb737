"""Data sets of scalenet_mm: the synthetic default data and loaders of standard on-disk layouts.

* :func:`generate_dataset` writes generated data (the frozen ``legacy`` shapes, or localisation benchmark v2:
  :mod:`~scalenet_mm.datasets.localization_benchmark`) in the ImageNet, CUB-200-2011 and COCO layouts;
  :func:`write_cifar_layout` writes the legacy shapes in the CIFAR pickle layout.
* :class:`CUBWithBoxes`, :class:`ImageNetWithBoxes`, :class:`CIFAR10Local`, :class:`CIFAR100Local`
  read those layouts (and the real data sets); they are registered in the ``DATASETS`` registries
  of both mmpretrain and mmdet. COCO-layout data is read with mmdet's ``CocoDataset``.
"""
from .cifar import CIFAR10Local, CIFAR100Local, load_cifar_batch
from .cifar_writer import write_cifar_layout
from .cub import CUBWithBoxes
from .imagenet_boxes import ImageNetWithBoxes, parse_voc_boxes
from .imagenet_local import ImageNetLocal
from .localization_benchmark import SIZE_BUCKETS as BENCHMARK_SIZE_BUCKETS
from .localization_benchmark import benchmark_spec, generate_benchmark_samples
from .synthetic import CLASSES as SYNTHETIC_CLASSES
from .synthetic import VARIANTS as SYNTHETIC_VARIANTS
from .synthetic import generate_dataset, generate_samples, render_sample
from .transforms import CropAt, ten_crop_tta_pipeline

__all__ = [
    'CIFAR10Local', 'CIFAR100Local', 'load_cifar_batch', 'write_cifar_layout', 'CUBWithBoxes',
    'ImageNetWithBoxes', 'parse_voc_boxes', 'SYNTHETIC_CLASSES', 'generate_dataset',
    'generate_samples', 'render_sample', 'ImageNetLocal', 'CropAt', 'ten_crop_tta_pipeline', 'SYNTHETIC_VARIANTS',
    'BENCHMARK_SIZE_BUCKETS', 'benchmark_spec', 'generate_benchmark_samples'
]
from .wsol_transforms import LoadWSOLMask  # noqa: E402,F401  (registers the WSOL transforms)
