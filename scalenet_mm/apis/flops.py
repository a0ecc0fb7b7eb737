"""Parameters and exact MACs of a config's model, checked against the spec's reference numbers."""
import json
import os.path as osp
from typing import Dict, Optional, Tuple

import torch

from .config import ConfigLike, load_config
from .model import build_model

__all__ = ['REFERENCE_JSON', 'load_reference', 'reference_for', 'infer_input_size', 'measure_complexity']

#: The spec's 32 reference architectures with their parameter / MAC counts (package data of the backbones).
REFERENCE_JSON = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'models', 'backbones',
                          'reference_archs.json')


def load_reference(path: str = REFERENCE_JSON) -> Dict[str, dict]:
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} (the spec reference numbers) is missing: reinstall scalenet_mm '
                                f'(pip install -e .) so that its package data is there')
    with open(path) as f:
        return {e['name']: e for e in json.load(f)}


def reference_for(cfg, refs: Dict[str, dict]) -> Optional[dict]:
    """The spec's reference entry if the config's model is a preset used unchanged, else None."""
    from scalenet_mm.models.backbones.scalenet_arch import ARCH_ZOO, resolve_arch
    backbone = cfg.model.get('backbone') or {}
    if backbone.get('type') != 'ScaleNet' or not isinstance(backbone.get('arch', 'vo21'), str):
        return None
    preset, _ = resolve_arch(backbone.get('arch', 'vo21'))
    if preset is None or preset not in refs:
        return None
    if any(backbone.get(k) is not None for k in ('residual', 'downsample', 'upsample', 'deconv_kernel')):
        return None
    if backbone.get('stem_type') not in (None, ARCH_ZOO[preset].get('stem')) or backbone.get('in_channels', 3) != 3:
        return None
    ref = refs[preset]
    head = cfg.model.get('head') or {}
    if head.get('num_classes') != ref['arch'].get('nclass'):
        return None
    return ref


def infer_input_size(cfg, ref: Optional[dict]) -> int:
    """The side the model is measured at: the reference's, the config's ``input_size``, its test crop, else
    32 for CIFAR and 224 otherwise."""
    if ref is not None:
        return int(ref['input_size'])
    if cfg.get('input_size'):
        return int(cfg.input_size)
    pipeline = (cfg.get('test_dataloader') or {}).get('dataset', {}).get('pipeline', [])
    for t in pipeline:
        if t.get('type') in ('CenterCrop', 'CropAt', 'RandomCrop'):
            size = t.get('crop_size')
            return int(size if isinstance(size, int) else size[0])
    dataset_type = str((cfg.get('test_dataloader') or {}).get('dataset', {}).get('type', ''))
    return 32 if 'CIFAR' in dataset_type.upper() else 224


def measure_complexity(config: ConfigLike, shape: Optional[Tuple[int, int]] = None,
                       cfg_options: Optional[dict] = None, refs: Optional[Dict[str, dict]] = None) -> dict:
    """Params, MACs (see :class:`~scalenet_mm.utils.complexity.MacCounter` for the convention) and, for an
    unchanged preset, the comparison with the spec: ``match`` is True/False, or None without a reference."""
    from mmengine.model import BaseModel

    from scalenet_mm.utils.complexity import MacCounter
    cfg = load_config(config, cfg_options)
    refs = load_reference() if refs is None else refs
    ref = reference_for(cfg, refs)
    if shape is None:
        side = infer_input_size(cfg, ref)
        shape = (side, side)
    if ref is not None and tuple(shape) != (ref['input_size'], ) * 2:
        ref = None  # the reference numbers are for its own input size only
    backbone_cfg = cfg.model.get('backbone')
    # the 'phase' implementation computes the same deconvolution as convolutions: count the deconvolution
    overrides = dict(backbone=dict(deconv_impl='native')) if (backbone_cfg or {}).get('type') == 'ScaleNet' else {}
    device = 'meta'
    try:
        model = build_model(cfg, device, init_weights=False, model_overrides=overrides)
    except Exception:  # a module that cannot be built without storage
        device = 'cpu'
        model = build_model(cfg, device, init_weights=False, model_overrides=overrides)
    params = sum(p.numel() for p in model.parameters())
    counter = MacCounter(model)
    x = torch.empty(1, (backbone_cfg or {}).get('in_channels', 3), *shape, device=device)
    with torch.no_grad():
        model(x, mode='tensor') if isinstance(model, BaseModel) else model(x)
    counter.remove()
    backbone = getattr(model, 'backbone', None)
    res = dict(config=str(getattr(config, 'filename', config)),
               arch=getattr(backbone, 'arch_name', type(backbone).__name__ if backbone else '-'),
               depth=getattr(backbone, 'depth', None), input=list(shape), params=params, macs=counter.total,
               macs_breakdown=dict(counter.macs), layers=dict(counter.layers),
               macs_deconv_at_output=counter.total - counter.macs['deconv'] + counter.deconv_at_output)
    res['match'] = None
    if ref is not None:
        res.update(reference=ref['name'], ref_params=ref['params'], ref_macs=ref['macs'],
                   dead_params=ref['dead_params'], dead_macs=ref['dead_macs'],
                   expected_params=ref['params'] - ref['dead_params'], expected_macs=ref['macs'] - ref['dead_macs'],
                   paper_params_M=ref.get('paper_params_M'), paper_flops_G=ref.get('paper_flops_G'),
                   authors_flops_G=ref.get('authors_flops_G'), paper_depth=ref.get('paper_depth'))
        res['match'] = res['params'] == res['expected_params'] and res['macs'] == res['expected_macs']
    return res
