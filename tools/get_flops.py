#!/usr/bin/env python
"""Parameters and exact multiply-accumulates (MACs) of the models of mm configs, next to the paper's figures.

Example::

    python tools/get_flops.py configs/scalenet/imagenet_*.py
    python tools/get_flops.py configs/scalenet/cifar10_d7_32l.py --shape 32
    python tools/get_flops.py configs/scalenet/*.py --json work_dirs/flops.json

Counting convention (spec 12/13.3): ``MACs`` = Conv2d ``Cout*Cin/groups*kh*kw*Hout*Wout`` + ConvTranspose2d
``Cin*Cout/groups*kh*kw*Hin*Win`` (a deconvolution's true cost, at INPUT resolution) + Linear ``in*out``;
batch norm, ReLU, pooling and additions are not counted. Counted with forward hooks on a shape-only
('meta' device) forward pass, so the numbers are exact and cheap even for the 2000-layer net.

The paper (and the authors' ``calculate_FLOPs_scale``) instead counts each stride-2 deconvolution at its OUTPUT
resolution, i.e. 4x its true MACs, and adds BN/ReLU/pool element counts: ScaleNet54-D4D5S5 is "4.6 GFLOPs" in
Table 2 but needs 2.05 GMACs. The column ``deconv@out G`` recomputes our count with the deconvolutions at output
resolution, which lands close to the paper's figures.

Reference check: for configs that use a preset unchanged (and its class count and input size), the numbers must
equal the spec's reference (tests/data/reference_archs.json) minus the reference implementation's dead modules,
which scalenet_mm does not build: ``params = ref params - dead_params``, ``MACs = ref macs - dead_macs``.
Exit status 1 if any checked config disagrees.
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
from torch import nn  # noqa: E402

from scalenet_mm.utils.complexity import MacCounter  # noqa: E402

REFERENCE_JSON = osp.join(REPO_ROOT, 'tests', 'data', 'reference_archs.json')


def load_reference() -> Dict[str, dict]:
    with open(REFERENCE_JSON) as f:
        return {e['name']: e for e in json.load(f)}


def build_model(cfg, device: str = 'meta') -> nn.Module:
    from mmengine.registry import MODELS, DefaultScope
    model_cfg = cfg.model.copy()
    backbone = model_cfg.get('backbone')
    if isinstance(backbone, dict) and backbone.get('type') == 'ScaleNet':
        # the 'phase' implementation computes the same deconvolution as convolutions; count the deconvolution
        model_cfg['backbone'] = dict(backbone, deconv_impl='native')
    scope = cfg.get('default_scope', 'mmpretrain')
    with DefaultScope.overwrite_default_scope(scope):
        with torch.device(device):
            model = MODELS.build(model_cfg)
    return model.eval()


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
    if ref is not None:
        return int(ref['input_size'])
    if cfg.get('input_size'):  # optional top-level key of a config, e.g. the demo's 64
        return int(cfg.input_size)
    pipeline = (cfg.get('test_dataloader') or {}).get('dataset', {}).get('pipeline', [])
    for t in pipeline:
        if t.get('type') in ('CenterCrop', 'CropAt', 'RandomCrop'):
            size = t.get('crop_size')
            return int(size if isinstance(size, int) else size[0])
    dataset_type = str((cfg.get('test_dataloader') or {}).get('dataset', {}).get('type', ''))
    return 32 if 'CIFAR' in dataset_type.upper() else 224


def measure(config: str, shape: Optional[Tuple[int, int]] = None, cfg_options: Optional[dict] = None,
            refs: Optional[Dict[str, dict]] = None) -> dict:
    """Params, MACs and the reference comparison of one config (see the module doc)."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    refs = load_reference() if refs is None else refs
    ref = reference_for(cfg, refs)
    if shape is None:
        s = infer_input_size(cfg, ref)
        shape = (s, s)
    if ref is not None and tuple(shape) != (ref['input_size'], ) * 2:
        ref = None  # the reference numbers are for its own input size only
    device = 'meta'
    try:
        model = build_model(cfg, device)
    except Exception:  # a module that cannot be built without storage
        device = 'cpu'
        model = build_model(cfg, device)
    params = sum(p.numel() for p in model.parameters())
    counter = MacCounter(model)
    x = torch.empty(1, cfg.model.get('backbone', {}).get('in_channels', 3), *shape, device=device)
    with torch.no_grad():
        from mmengine.model import BaseModel
        model(x, mode='tensor') if isinstance(model, BaseModel) else model(x)
    counter.remove()
    backbone = getattr(model, 'backbone', None)
    res = dict(config=config, arch=getattr(backbone, 'arch_name', type(backbone).__name__ if backbone else '-'),
               depth=getattr(backbone, 'depth', None), input=list(shape), params=params, macs=counter.total,
               macs_breakdown=dict(counter.macs), layers=dict(counter.layers),
               macs_deconv_at_output=counter.total - counter.macs['deconv'] + counter.deconv_at_output)
    if ref is not None:
        res.update(reference=ref['name'], ref_params=ref['params'], ref_macs=ref['macs'],
                   dead_params=ref['dead_params'], dead_macs=ref['dead_macs'],
                   expected_params=ref['params'] - ref['dead_params'], expected_macs=ref['macs'] - ref['dead_macs'],
                   paper_params_M=ref.get('paper_params_M'), paper_flops_G=ref.get('paper_flops_G'),
                   authors_flops_G=ref.get('authors_flops_G'), paper_depth=ref.get('paper_depth'))
        res['match'] = res['params'] == res['expected_params'] and res['macs'] == res['expected_macs']
    else:
        res['match'] = None
    return res


def _fmt(v, scale=1.0, digits=3):
    return '-' if v is None else f'{v / scale:.{digits}f}'


def format_table(results: List[dict]) -> str:
    head = ('config', 'arch', 'input', 'params M', 'GMACs', 'deconv@out G', 'ref', 'expected params',
            'expected MACs', 'paper M', 'paper G', 'authors G', 'match')
    rows = [head]
    for r in results:
        match = {True: 'OK', False: 'MISMATCH', None: 'no reference'}[r['match']]
        rows.append((osp.basename(r['config']), r['arch'], 'x'.join(map(str, r['input'])), _fmt(r['params'], 1e6),
                     _fmt(r['macs'], 1e9), _fmt(r['macs_deconv_at_output'], 1e9), r.get('reference', '-'),
                     str(r.get('expected_params', '-')), str(r.get('expected_macs', '-')),
                     _fmt(r.get('paper_params_M'), 1, 1), _fmt(r.get('paper_flops_G'), 1, 1),
                     _fmt(r.get('authors_flops_G'), 1, 3), match))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    lines = ['  '.join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


CONVENTION_NOTE = """\
GMACs: exact multiply-accumulates at batch 1 (Conv2d at output size, ConvTranspose2d at INPUT size, Linear).
deconv@out G: the same count with every deconvolution at its OUTPUT resolution (4x its real cost for stride 2),
  the paper's convention; the paper's 'FLOPs' (paper G) and the authors' counter (authors G, which also adds
  BN/ReLU/pool element counts) use it, so they are ~2.3x the true MACs of a ScaleNet.
expected = spec reference minus the reference code's dead modules (not built here): params - dead_params,
  macs - dead_macs."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Params and exact MACs of configs vs the paper/spec numbers')
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--shape', type=int, nargs='+', default=None,
                        help='input size: H [W] (default: the reference input size of the preset, else the '
                        'test crop size of the config, 32 for CIFAR)')
    parser.add_argument('--json', help='also write the results to this JSON file')
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    shape = None
    if args.shape:
        if len(args.shape) > 2:
            raise SystemExit('--shape takes H or H W')
        shape = (args.shape[0], args.shape[-1])
    refs = load_reference()
    results = [measure(c, shape, args.cfg_options, refs) for c in args.configs]
    print(format_table(results))
    print()
    print(CONVENTION_NOTE)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
    bad = [r['config'] for r in results if r['match'] is False]
    if bad:
        print('MISMATCH with the spec reference: ' + ', '.join(bad))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
