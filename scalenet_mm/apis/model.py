"""Building and loading models from configs: the one model loader of scalenet_mm (classifiers and detectors)."""
from typing import Any, Dict, Optional

import torch
import torch.nn as nn
from mmengine.config import Config

from .config import ConfigLike, load_config

__all__ = ['build_model', 'init_model', 'model_scope']


def model_scope(cfg: Config) -> str:
    """The registry scope the config's model lives in (``'mmpretrain'`` or ``'mmdet'``)."""
    return cfg.get('default_scope', 'mmpretrain')


def build_model(cfg: Config, device: str = 'cpu', init_weights: bool = True,
                model_overrides: Optional[Dict[str, Any]] = None) -> nn.Module:
    """The config's model, built in its own scope with the config's ``data_preprocessor``, in eval mode.

    Args:
        cfg: a loaded config.
        device: where to build it; ``'meta'`` builds a shape-only model (no storage, for counting).
        init_weights: run ``init_weights()`` (the config's init, e.g. the reference He-normal for ScaleNet); a
            model that is about to load a checkpoint, or a meta model, does not need it.
        model_overrides: keys merged into ``cfg.model`` for this build only (e.g. ``{'backbone': {...}}``).
    """
    from mmengine.registry import MODELS, DefaultScope
    model_cfg = cfg.model.copy()
    for key, value in (model_overrides or {}).items():
        model_cfg[key] = dict(model_cfg.get(key) or {}, **value) if isinstance(value, dict) else value
    if cfg.get('data_preprocessor') is not None:  # mmpretrain configs keep it at top level
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(model_scope(cfg)):
        with torch.device(device):
            model = MODELS.build(model_cfg)
    if init_weights and device != 'meta':
        model.init_weights()
    return model.eval()


def init_model(config: ConfigLike,
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[Dict[str, Any]] = None,
               data_root: Optional[str] = None) -> nn.Module:
    """A classifier or detector from a config and, optionally, a checkpoint, ready for inference.

    The mm-style counterpart of ``mmpretrain.apis.init_model`` / ``mmdet.apis.init_detector`` for every
    scalenet_mm config: without a checkpoint the model keeps the config's own initialisation (an untrained
    twin, seeded by the torch RNG), with one it gets the checkpoint's weights and ``dataset_meta``. The
    config is attached as ``model.cfg``.
    """
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    cfg = load_config(config, cfg_options, data_root=data_root)
    init_default_scope(model_scope(cfg))
    model = build_model(cfg, 'cpu', init_weights=checkpoint is None)
    if checkpoint:
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        if meta.get('dataset_meta'):
            model.dataset_meta = meta['dataset_meta']
    model.cfg = cfg
    return model.to(device).eval()
