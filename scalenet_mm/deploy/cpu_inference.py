"""One call that turns a trained model (a ScaleNet, or a classifier/detector containing one) into its fast CPU
inference form.

:func:`deploy_for_cpu` applies, in place and for inference only:

1. every module's own inference form: each module with a public ``switch_to_deploy()`` method (ScaleNet's, which
   folds its stem and output BNs into convs and turns its pre-activation ``BN -> ReLU`` units into
   :class:`~scalenet_mm.deploy.AffineReLU`; mmpretrain's RepVGG blocks; ...) is switched, outermost first;
2. oneDNN weight pre-packing (:class:`~scalenet_mm.deploy.OneDNNConv2d` and its transposed twin) for every
   plain convolution, conv+ReLU pair (``torch.ao.nn.intrinsic.ConvReLU2d``, packed with a fused ReLU) and
   deconvolution of the model, kept per layer only where it measures faster on the example input when
   ``autotune`` is on (the ``cudnn.benchmark`` idea, applied once at conversion).

Networks without a ``switch_to_deploy`` (torchvision's ResNet) get their conv-BN pairs folded first by
:func:`fold_conv_bn` (``torch.fx``), the generic step that makes ``resnet50:deploy`` a fair baseline.
Every step is exact up to float rounding order; ``tests/test_deploy`` compares logits with the eager model.
The result refuses ``.train()``: rebuild the model from its checkpoint to train again.
"""
import statistics
import time
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from torch.ao.nn.intrinsic import ConvReLU2d

from .bn_fusion import AffineReLU
from .onednn import OneDNNConv2d, OneDNNConvTranspose2d, onednn_available

__all__ = ['deploy_for_cpu', 'switch_to_deploy', 'fold_conv_bn']


def _count_norms(model: nn.Module) -> int:
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def switch_to_deploy(model: nn.Module) -> Dict[str, int]:
    """Call ``switch_to_deploy()`` on every module that has one, outermost first (a module's own method converts
    its children, so those are not called again); returns ``{'bn_folded', 'bn_relu_fused', 'switched'}``."""
    model.eval()
    norms_before = _count_norms(model)
    affine_before = sum(isinstance(m, AffineReLU) for m in model.modules())
    switched, done = 0, set()

    def visit(module: nn.Module) -> None:
        nonlocal switched
        method = getattr(module, 'switch_to_deploy', None)
        if callable(method) and id(module) not in done:
            method()
            switched += 1
            done.update(id(m) for m in module.modules())
            return
        for child in list(module.children()):
            visit(child)

    visit(model)
    fused = sum(isinstance(m, AffineReLU) for m in model.modules()) - affine_before
    return dict(bn_folded=norms_before - _count_norms(model) - fused, bn_relu_fused=fused, switched=switched)


def fold_conv_bn(model: nn.Module) -> nn.Module:
    """The generic conv -> BN folding of a ``torch.fx``-traceable network (returns a new ``GraphModule``)."""
    from torch.fx.experimental.optimization import fuse
    return fuse(model.eval())


def _packable(m: nn.Module) -> bool:
    from scalenet_mm.models.layers.phase_deconv import PhaseDeconv2d
    if type(m) is ConvReLU2d:
        m = m[0]
    plain = type(m) in (nn.Conv2d, nn.ConvTranspose2d) or isinstance(m, PhaseDeconv2d)
    return plain and m.padding_mode == 'zeros' and not isinstance(m.padding, str)


def _pack(m: nn.Module) -> nn.Module:
    if type(m) is ConvReLU2d:
        return OneDNNConv2d(m[0], fuse_relu=True)
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
    if autotune and example_input is None:
        raise ValueError('deploy_for_cpu(autotune=True) needs example_input (a batch of the size and memory format '
                         'you will run); pass autotune=False to pack every convolution without measuring')
    switched = switch_to_deploy(model)
    report: Dict[str, object] = dict(bn_folded=switched['bn_folded'], bn_relu_fused=switched['bn_relu_fused'],
                                     packed=0, kept_plain=0, onednn=onednn_available(), layers=[])
    if not report['onednn']:
        return report
    inputs = _record_inputs(model, example_input) if autotune else {}
    names = {m: n for n, m in model.named_modules()}
    layers: List[tuple] = report['layers']
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if not _packable(child) or type(parent) is ConvReLU2d:
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
