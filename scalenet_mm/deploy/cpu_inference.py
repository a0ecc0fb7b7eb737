"""One call that turns a trained ScaleNet (or a model containing one) into its fast CPU inference form.

:func:`deploy_for_cpu` applies, in place and for inference only:

1. BN folding where a BN directly follows a conv: the stem's ``conv -> BN -> ReLU`` and the last down-sampling
   conv followed by the output ``BN -> ReLU`` become one conv with a fused ReLU;
2. :class:`~scalenet_mm.deploy.AffineReLU` for every pre-activation ``BN -> ReLU`` of the blocks and the last
   down-sampling unit;
3. oneDNN weight pre-packing (:class:`~scalenet_mm.deploy.OneDNNConv2d` and its transposed twin) for every
   plain convolution and deconvolution of the model, kept per layer only where it measures faster on the
   example input when ``autotune`` is on (the ``cudnn.benchmark`` idea, applied once at conversion).

Every step is exact up to float rounding order; ``tests/test_deploy`` compares logits with the eager model.
The result refuses ``.train()``: rebuild the model from its checkpoint to train again.
"""
import statistics
import time
from typing import Dict, List, Optional

import torch
import torch.nn as nn

from .bn_fusion import AffineReLU, fold_bn_into_conv
from .onednn import OneDNNConv2d, OneDNNConvTranspose2d, onednn_available

__all__ = ['deploy_for_cpu']


def _is_plain_bn(m: Optional[nn.Module]) -> bool:
    return isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats


def _fold_post_norm(owner: nn.Module, conv_name: str, norm: nn.Module) -> bool:
    """Replace ``owner.<conv_name>`` by the conv with ``norm`` folded in and a fused ReLU."""
    conv = getattr(owner, conv_name)
    if type(conv) is not nn.Conv2d or not _is_plain_bn(norm):
        return False
    setattr(owner, conv_name, OneDNNConv2d(fold_bn_into_conv(conv, norm), fuse_relu=True))
    return True


def _deploy_scalenet_norms(backbone: nn.Module, report: Dict[str, int]) -> None:
    from scalenet_mm.models.layers.couple_blocks import _CoupleBase
    from scalenet_mm.models.layers.stems import _StemBranch
    from scalenet_mm.models.layers.transitions import LastDownUnit

    for module in list(backbone.modules()):
        if isinstance(module, _StemBranch) and module.norm_name is not None:
            if _fold_post_norm(module, 'conv', getattr(module, module.norm_name)):
                setattr(module, module.norm_name, nn.Identity())
                module.relu = nn.Identity()
                report['bn_folded'] += 1
        elif isinstance(module, (_CoupleBase, LastDownUnit)):
            norms = [getattr(module, name) for name in module.norm_names]
            if all(_is_plain_bn(n) for n in norms):
                for name, norm in zip(module.norm_names, norms):
                    setattr(module, name, AffineReLU(norm))
                module.relu = nn.Identity()
                report['bn_relu_fused'] += len(norms)

    out_norm = backbone.out_norm
    if not _is_plain_bn(out_norm):
        return
    down = backbone.down_last
    if down is not None and _fold_post_norm(down, f'conv{len(down.kernels)}', out_norm):
        backbone.out_norm = nn.Identity()
        report['bn_folded'] += 1
    else:
        backbone.out_norm = AffineReLU(out_norm)
        report['bn_relu_fused'] += 1
    backbone.out_relu = nn.Identity()


def _packable(m: nn.Module) -> bool:
    from scalenet_mm.models.layers.phase_deconv import PhaseDeconv2d
    plain = type(m) in (nn.Conv2d, nn.ConvTranspose2d) or isinstance(m, PhaseDeconv2d)
    return plain and m.padding_mode == 'zeros' and not isinstance(m.padding, str)


def _pack(m: nn.Module) -> nn.Module:
    return OneDNNConv2d(m) if type(m) is nn.Conv2d else OneDNNConvTranspose2d(m)


def _median_ms(fn, x: torch.Tensor, repeats: int) -> float:
    with torch.inference_mode():
        for _ in range(2):
            fn(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def _record_inputs(model: nn.Module, example_input: torch.Tensor) -> Dict[nn.Module, torch.Tensor]:
    """One forward pass that remembers a same-shape, same-layout random stand-in of every conv's input."""
    inputs = {}

    def hook(module, args):
        inputs.setdefault(module, torch.randn_like(args[0]))

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if _packable(m)]
    try:
        with torch.inference_mode():
            model(example_input)
    finally:
        for h in handles:
            h.remove()
    return inputs


def deploy_for_cpu(model: nn.Module,
                   example_input: Optional[torch.Tensor] = None,
                   autotune: bool = True,
                   repeats: int = 7) -> Dict[str, object]:
    """Convert ``model`` in place for CPU inference; returns what was done.

    Args:
        model: a :class:`~scalenet_mm.models.ScaleNet`, or any model containing ScaleNets (an mmpretrain
            classifier, an mmdet detector, an ``nn.Sequential``). Convolutions outside ScaleNet are packed too.
        example_input: a batch like the ones the model will see (size, batch and memory format). Needed for
            ``autotune``; without it every convolution is packed.
        autotune: time each convolution plain and packed on the example's shapes and keep the faster one.
        repeats: timed calls per candidate when autotuning.

    Returns:
        ``{'bn_folded', 'bn_relu_fused', 'packed', 'kept_plain', 'onednn', 'layers'}``; ``layers`` lists
        ``(name, plain ms, packed ms, choice)`` for autotuned layers.
    """
    from scalenet_mm.models import ScaleNet
    if autotune and example_input is None:
        raise ValueError('deploy_for_cpu(autotune=True) needs example_input (a batch of the size and memory format '
                         'you will run); pass autotune=False to pack every convolution without measuring')
    model.eval()
    report: Dict[str, object] = dict(bn_folded=0, bn_relu_fused=0, packed=0, kept_plain=0,
                                     onednn=onednn_available(), layers=[])
    for backbone in [m for m in model.modules() if isinstance(m, ScaleNet)]:
        _deploy_scalenet_norms(backbone, report)
    if not report['onednn']:
        return report
    inputs = _record_inputs(model, example_input) if autotune else {}
    names = {m: n for n, m in model.named_modules()}
    layers: List[tuple] = report['layers']
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if not _packable(child):
                continue
            packed = _pack(child)
            if child in inputs:
                plain_ms = _median_ms(child, inputs[child], repeats)
                packed_ms = _median_ms(packed, inputs[child], repeats)
                keep_plain = plain_ms <= packed_ms
                layers.append((names[child], round(plain_ms, 4), round(packed_ms, 4),
                               'plain' if keep_plain else 'packed'))
                if keep_plain:
                    report['kept_plain'] += 1
                    continue
            setattr(parent, child_name, packed)
            report['packed'] += 1
    return report
