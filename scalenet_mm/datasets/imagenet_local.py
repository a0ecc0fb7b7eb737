"""ImageNet-1k in the usual folder layout, with an error that says where the data has to go.

mmpretrain's ``ImageNet`` fails on a missing directory with a bare ``FileNotFoundError``; this subclass
checks the layout first. Expected layout (relative to ``data_root``, default ``data/imagenet``)::

    train/<wnid>/<image>.JPEG        meta/train.txt   ("<wnid>/<image>.JPEG <label>" per line, optional)
    val/<image or wnid/image>        meta/val.txt     ("<path below val/> <label>" per line)
"""
import os.path as osp

from mmpretrain.datasets import ImageNet

from scalenet_mm.registry import register_dataset

__all__ = ['ImageNetLocal']

LAYOUT_HINT = ('Put ImageNet-1k (ILSVRC2012) under {root}: {root}/train/<wnid>/*.JPEG and {root}/val/ with '
               '{root}/meta/val.txt ("<relative path> <label>" per line; {root}/meta/train.txt is optional for '
               'train, class folders are used otherwise). A symlink works: ln -s /path/to/imagenet {root}. '
               'Or point the config elsewhere: --cfg-options {which}_dataloader.dataset.data_root=/path')


@register_dataset()
class ImageNetLocal(ImageNet):
    """mmpretrain ``ImageNet`` that explains a missing or incomplete layout (same arguments)."""

    def __init__(self, data_root: str = '', split: str = '', *args, **kwargs) -> None:
        if data_root and split:
            which = 'train' if split == 'train' else 'test'
            hint = LAYOUT_HINT.format(root=data_root, which=which)
            folder = osp.join(data_root, split)
            if not osp.isdir(folder):
                raise FileNotFoundError(f'ImageNet {split} images not found: {folder} does not exist. {hint}')
            ann = kwargs.get('ann_file') or osp.join(data_root, 'meta', f'{split}.txt')
            ann = ann if osp.isabs(ann) or osp.exists(ann) else osp.join(data_root, ann)
            if split != 'train' and not osp.isfile(ann):
                raise FileNotFoundError(f'ImageNet {split} annotation file not found: {ann}. {hint}')
        super().__init__(data_root, split, *args, **kwargs)
