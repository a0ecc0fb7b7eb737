"""The one CAM loop: a dataloader of a config's split, preprocessed by the model, through a CAM extractor."""
import os.path as osp
import sys
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config

__all__ = ['BOX_DATASETS', 'CROP_TRANSFORMS', 'wsol_dataset_cfg', 'build_cam_dataloader', 'iter_cams',
           'build_cam_fn', 'gt_targets', 'parse_sizes', 'parse_level']

BOX_DATASETS = ('CUBWithBoxes', 'ImageNetWithBoxes')
CROP_TRANSFORMS = ('CenterCrop', 'RandomCrop', 'RandomResizedCrop', 'CropAt', 'TenCrop', 'FiveCrop')


def parse_sizes(text: Optional[Union[str, Sequence[int]]]) -> Optional[List[int]]:
    """``'32,64,128'`` (or a list) -> ``[32, 64, 128]``; ``None``/empty -> ``None``."""
    if not text:
        return None
    values = text if isinstance(text, (list, tuple)) else str(text).replace(' ', '').split(',')
    sizes = [int(v) for v in values if str(v)]
    if not sizes or min(sizes) <= 0:
        raise ValueError(f'multi-scale sizes must be positive integers such as 32,64,128, got {text!r}')
    return sizes


def parse_level(text: Optional[Union[str, int]]) -> Optional[Union[str, int]]:
    """A target-layer argument from the command line: digits become a level index, names stay names."""
    if text is None or isinstance(text, int):
        return text
    return int(text) if text.lstrip('-').isdigit() else text


def wsol_dataset_cfg(dataset: dict) -> dict:
    """A copy of a test ``dataset`` config that yields GT boxes: box data sets pass; a ``CustomDataset`` /
    ``ImageNet`` folder with a ``val_boxes/`` (or ``test_boxes/``) folder of VOC XMLs next to its images (the
    embedded set's ImageNet layout) becomes ``ImageNetWithBoxes``; ``PackInputs`` gets ``gt_bboxes`` /
    ``gt_mask`` as algorithm keys. Crops in the pipeline are refused (they break the CAM-to-image frame)."""
    dataset = dataset.copy()
    if dataset.get('type') not in BOX_DATASETS:
        root = dataset.get('data_root', '')
        prefix = dataset.get('data_prefix', 'val')
        prefix = prefix.get('img_path', 'val') if isinstance(prefix, dict) else (prefix or 'val')
        box_dir = f'{osp.basename(str(prefix).rstrip("/"))}_boxes'
        if dataset.get('type') not in ('CustomDataset', 'ImageNet') or not osp.isdir(osp.join(root, box_dir)):
            raise ValueError(f"the test data set ({dataset.get('type')}) has no boxes; use CUBWithBoxes / "
                             f'ImageNetWithBoxes (or an ImageNet-layout folder with {box_dir}/ XMLs)')
        dataset = dict(type='ImageNetWithBoxes', data_root=root, data_prefix=prefix, bbox_dir=box_dir,
                       ann_file=dataset.get('ann_file', ''), classes=dataset.get('classes'),
                       pipeline=dataset.get('pipeline', []))
    pipeline = []
    for step in dataset.get('pipeline', []):
        step = dict(step)
        if step.get('type') in CROP_TRANSFORMS:
            raise ValueError(f"WSOL evaluation needs a whole-image test pipeline, found {step['type']}; "
                             "use dict(type='Resize', scale=(W, H))")
        if step.get('type') == 'PackInputs':
            keys = tuple(step.get('algorithm_keys', ()))
            step['algorithm_keys'] = keys + tuple(k for k in ('gt_bboxes', 'gt_mask') if k not in keys)
        pipeline.append(step)
    dataset['pipeline'] = pipeline
    return dataset


def build_cam_dataloader(cfg: Config, dataset: Optional[dict] = None, num_samples: Optional[int] = None,
                         batch_size: Optional[int] = None, with_boxes: bool = True):
    """A worker-free dataloader over ``dataset`` (default: the config's test, else val, data set), in order.

    ``with_boxes`` turns the data set into its box-yielding form (:func:`wsol_dataset_cfg`); ``num_samples``
    keeps the first N images.
    """
    from mmengine.runner import Runner
    dl_cfg = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if dl_cfg is None:
        raise KeyError('the config has neither test_dataloader nor val_dataloader')
    dl_cfg = dl_cfg.copy()
    if dataset is not None:
        dl_cfg['dataset'] = dataset
    if with_boxes:
        dl_cfg['dataset'] = wsol_dataset_cfg(dl_cfg['dataset'])
    if num_samples:
        dl_cfg['dataset'] = dict(dl_cfg['dataset'], indices=int(num_samples))
    if batch_size:
        dl_cfg['batch_size'] = batch_size
    dl_cfg['num_workers'] = 0
    dl_cfg.pop('persistent_workers', None)
    dl_cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    return Runner.build_dataloader(dl_cfg)


def build_cam_fn(model: nn.Module, method: str = 'cam', level=None,
                 multi_scale: Optional[Sequence[int]] = None) -> Tuple[Callable, dict]:
    """``(fn, info)``: ``fn(inputs, targets) -> (maps {variant: (N, h, w)}, logits)`` for one CAM method at one
    layer, single scale (``'single'``) and, with ``multi_scale``, fused over input sizes (``'ms_mean'``,
    ``'ms_max'``); ``info`` names the layer and the sizes used."""
    from scalenet_mm.wsol import MultiScaleCAM, build_cam_extractor
    extractor = build_cam_extractor(model, method, parse_level(level))
    ms = MultiScaleCAM(extractor, sizes=multi_scale) if multi_scale else None
    info = dict(method=method, layer=getattr(extractor, 'layer_name', None),
                multi_scale=[s[0] for s in ms.sizes] if ms else None,
                multi_scale_used=[s[0] for s in ms.usable] if ms else None)

    def fn(inputs: torch.Tensor, targets):
        if ms is None:
            res = extractor(inputs, targets)
            return dict(single=res.cams), res.scores
        out = ms(inputs, targets)
        return dict(single=out['reference'], ms_mean=out['mean'], ms_max=out['max']), out['scores']

    return fn, info


def iter_cams(model: nn.Module, dataloader, cam_fn: Callable, targets_fn: Optional[Callable] = None,
              progress: bool = False) -> Iterator[Tuple[list, object]]:
    """Yield ``(data_samples, cam_fn(inputs, targets))`` per batch of ``dataloader``.

    The batch is preprocessed by the model's own ``data_preprocessor``; ``targets_fn(data_samples)`` gives the
    classes whose maps are wanted (default: none, ``cam_fn`` decides). ``progress`` shows mmengine's bar.
    """
    from mmengine.utils import ProgressBar
    bar = ProgressBar(len(dataloader.dataset)) if progress else None
    for data in dataloader:
        data = model.data_preprocessor(data, False)
        samples = data['data_samples']
        targets = targets_fn(samples) if targets_fn is not None else None
        yield samples, cam_fn(data['inputs'], targets)
        if bar is not None:
            for _ in samples:
                bar.update()
    if bar is not None:
        sys.stdout.write('\n')


def gt_targets(samples) -> torch.Tensor:
    """The first ground-truth class of each sample (the GT-known protocol of WSOL)."""
    return torch.stack([torch.as_tensor(s.gt_label).reshape(-1)[0] for s in samples]).long()
