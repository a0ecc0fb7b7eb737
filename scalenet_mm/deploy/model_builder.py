"""The models the export and benchmark paths take: an mm config (with its checkpoint) or a ScaleNet preset name.

Small on purpose: a classifier becomes ``images -> logits``, a backbone ``images -> tuple of feature maps``, and
the preprocessing a deployed model needs (mean/std, colour order, class names) travels with it as
:class:`ExportModel.metadata`.
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn

__all__ = ['ExportModel', 'build_export_model', 'ClassifierLogits', 'PresetClassifier']

IMAGENET_MEAN = [123.675, 116.28, 103.53]
IMAGENET_STD = [58.395, 57.12, 57.375]


@dataclass
class ExportModel:
    """A model ready for export: ``module(images)`` gives ``output_names`` in order."""
    module: nn.Module
    output_names: List[str]
    input_size: int
    metadata: Dict[str, str] = field(default_factory=dict)


class ClassifierLogits(nn.Module):
    """An mmpretrain ``ImageClassifier`` as ``images -> logits`` (its ``mode='tensor'`` output)."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.classifier(x, mode='tensor')
        return out[-1] if isinstance(out, (tuple, list)) else out


class PresetClassifier(nn.Module):
    """A ScaleNet preset with global average pooling and a linear head (the benchmark's classifier)."""

    def __init__(self, backbone: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.out_channels[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x)[-1].mean((2, 3)))


class BackboneFeatures(nn.Module):
    """A backbone's tuple of feature maps (for detection necks)."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor):
        return tuple(self.backbone(x))


def _quiet_init(model: nn.Module) -> None:
    """``init_weights`` without mmengine's per-parameter INFO log (hundreds of lines for a ScaleNet)."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def _preprocessing(cfg) -> Dict[str, object]:
    pre = cfg.get('data_preprocessor') or cfg.model.get('data_preprocessor') or {}
    to_rgb = pre.get('to_rgb', pre.get('bgr_to_rgb', False))
    return dict(mean=list(pre.get('mean', IMAGENET_MEAN)), std=list(pre.get('std', IMAGENET_STD)), to_rgb=to_rgb)


def _class_names(cfg) -> Optional[List[str]]:
    if cfg.get('classes'):
        return list(cfg.classes)
    for loader in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        names = dataset.get('classes') or (dataset.get('metainfo') or {}).get('classes')
        if names:
            return list(names)
    return None


def _metadata(mean, std, to_rgb, classes, task: str, source: str, size_multiple: int) -> Dict[str, str]:
    return dict(task=task, source=source, input_layout='NCHW', input_range='0..255 pixels, before normalisation',
                mean=','.join(f'{v:g}' for v in mean), std=','.join(f'{v:g}' for v in std),
                colour_order='RGB' if to_rgb else 'BGR',
                to_rgb=str(bool(to_rgb)), class_names='' if classes is None else '\n'.join(classes),
                input_size_multiple=str(size_multiple))


def _size_multiple(backbone: nn.Module) -> int:
    return int(getattr(backbone, 'min_input_size', 32))


def build_export_model(source: str,
                       checkpoint: Optional[str] = None,
                       out_indices: Optional[Sequence[Union[int, str]]] = None,
                       num_classes: int = 1000,
                       deconv_impl: str = 'native') -> ExportModel:
    """Build ``source`` (a config file path or a ScaleNet preset name) for export.

    Args:
        source: ``configs/....py`` (an mmpretrain classifier, or any model with a ``backbone``) or a preset
            (``'vo21'``, ``'D4D5S5'``, ...: ScaleNet + global average pooling + linear head).
        checkpoint: weights to load (mmengine checkpoint or plain state dict).
        out_indices: export the backbone's feature maps at these levels instead of the logits.
        num_classes: classes of a preset's head.
        deconv_impl: ``'native'`` or ``'phase'`` (same weights; both export through the same forms).
    """
    from mmengine.runner import load_checkpoint

    import scalenet_mm  # noqa: F401  (registers ScaleNet in the mm registries)
    if source.endswith('.py'):
        from mmengine.registry import init_default_scope

        from scalenet_mm.apis import build_model, load_config, model_scope
        cfg = load_config(source)  # names a missing file
        init_default_scope(model_scope(cfg))
        overrides = {}
        if 'backbone' in cfg.model:
            overrides['backbone'] = dict(deconv_impl=deconv_impl, init_cfg=None)
            if out_indices is not None:
                overrides['backbone']['out_indices'] = tuple(out_indices)
        model = build_model(cfg, init_weights=False, model_overrides=overrides)
        if checkpoint:
            load_checkpoint(model, checkpoint, map_location='cpu', strict=False, revise_keys=[(r'^module\.', '')])
        else:
            _quiet_init(model)
        pre, classes = _preprocessing(cfg), _class_names(cfg)
        input_size = int(cfg.get('input_size') or cfg.get('image_size') or 224)
        backbone = getattr(model, 'backbone', model)
        if out_indices is not None:
            module, names, task = BackboneFeatures(backbone), _feature_names(backbone), 'features'
        elif hasattr(model, 'head'):
            module, names, task = ClassifierLogits(model), ['logits'], 'classification'
        else:
            raise ValueError(f'{source}: a {type(model).__name__} has no classification head; export its '
                             'backbone features with --out-indices (e.g. --out-indices 1 2 3 4 for a detector)')
        meta = _metadata(pre['mean'], pre['std'], pre['to_rgb'], classes, task, osp.basename(source),
                         _size_multiple(backbone))
        return ExportModel(module.eval(), names, input_size, meta)

    from scalenet_mm.models import ScaleNet
    try:
        backbone = ScaleNet(source, out_indices=tuple(out_indices) if out_indices is not None else (-1, ),
                            deconv_impl=deconv_impl)
    except Exception as error:  # an unknown preset: say what the argument may be
        raise ValueError(f'{source!r} is neither a config file (.py) nor a ScaleNet preset: {error}') from error
    _quiet_init(backbone)
    if out_indices is not None:
        module, names, task = BackboneFeatures(backbone), _feature_names(backbone), 'features'
    else:
        module, names, task = PresetClassifier(backbone, num_classes), ['logits'], 'classification'
    if checkpoint:
        load_checkpoint(module, checkpoint, map_location='cpu', strict=False)
    cifar = backbone.stem_type == 'cifar'
    meta = _metadata(IMAGENET_MEAN, IMAGENET_STD, True, None, task, f'preset {source}', _size_multiple(backbone))
    return ExportModel(module.eval(), names, 32 if cifar else 224, meta)


def _feature_names(backbone: nn.Module) -> List[str]:
    infos = getattr(backbone, 'out_feature_info', None)
    if infos:
        return [f'{info.name}_s{info.stride}' for info in infos]
    return [f'feat{i}' for i in range(len(getattr(backbone, 'out_indices', [0])))]
