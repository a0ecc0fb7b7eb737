"""The benchmark's model zoo: ScaleNet presets (GAP + linear head) and torchvision/mmpretrain baselines.

Names: any preset of the preset table (``vo21``, ``D4D5S5``, ...), a torchvision classifier of
:data:`TORCHVISION`, ``resnet_cifar<depth>`` (mmpretrain's CIFAR ResNet). A ``:deploy`` suffix means the model
after :func:`scalenet_mm.deploy.deploy_for_cpu` (the PyTorch engine's inference conversion).
"""
from typing import Tuple

import torch
import torch.nn as nn

from scalenet_mm.utils.complexity import MacCounter

__all__ = ['TORCHVISION', 'LastFeature', 'build_model', 'split_name', 'count_macs', 'deploy_model', 'is_baseline']

TORCHVISION = ('resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'densenet121', 'densenet161',
               'densenet169', 'densenet201')
DECONV_IMPLS = ('native', 'phase', 'deploy')


class LastFeature(nn.Module):
    """An mm backbone (tuple of maps) as a module that returns its last map."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)[-1]


def is_baseline(name: str) -> bool:
    """Whether ``name`` is one of the non-ScaleNet reference networks."""
    return name in TORCHVISION or name.startswith('resnet_cifar')


def split_name(name: str) -> Tuple[str, bool]:
    """``'vo21:deploy'`` -> ``('vo21', True)``."""
    base, _, suffix = name.partition(':')
    if suffix not in ('', 'deploy'):
        raise ValueError(f"unknown model suffix {suffix!r} in {name!r}; the only suffix is ':deploy'")
    return base, suffix == 'deploy'


def build_model(name: str, num_classes: int, deconv_impl: str = 'native') -> nn.Module:
    """An image classifier as an ``nn.Module`` mapping images to logits (random weights)."""
    if deconv_impl not in DECONV_IMPLS:
        raise ValueError(f'deconv_impl must be one of {DECONV_IMPLS}, got {deconv_impl!r}')
    if name in TORCHVISION:
        import torchvision
        return getattr(torchvision.models, name)(weights=None, num_classes=num_classes)
    if name.startswith('resnet_cifar'):
        from mmpretrain.models import ResNet_CIFAR
        depth = int(name[len('resnet_cifar'):] or 50)
        backbone = ResNet_CIFAR(depth=depth)
        channels = 64 * 2**3 * (4 if depth >= 50 else 1)
        return nn.Sequential(LastFeature(backbone), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(channels, num_classes))
    import scalenet_mm  # noqa: F401
    from scalenet_mm.models import ScaleNet
    backbone = ScaleNet(name, deconv_impl='native' if deconv_impl == 'native' else 'phase')
    if deconv_impl == 'deploy':
        from scalenet_mm.models.layers.phase_deconv import PhaseDeconv2d
        for m in backbone.modules():
            if isinstance(m, PhaseDeconv2d):
                m.switch_to_deploy()
    return nn.Sequential(LastFeature(backbone), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(backbone.arch.out_channels, num_classes))


def count_macs(name: str, num_classes: int, shape) -> int:
    """Exact Conv2d/ConvTranspose2d/Linear MACs of one image (deconvs at input resolution).

    Counted on the 'meta' device (shapes only, no memory) where the model can be built there.
    """
    try:
        with torch.device('meta'):
            return _count_macs(build_model(name, num_classes, 'native').eval(), shape, 'meta')
    except (RuntimeError, NotImplementedError):
        return _count_macs(build_model(name, num_classes, 'native').eval(), shape, 'cpu')


def _count_macs(model: nn.Module, shape, device: str) -> int:
    counter = MacCounter(model)
    with torch.no_grad():
        model(torch.zeros(1, *shape, device=device))
    counter.remove()
    return counter.total


def deploy_model(model: nn.Module, name: str, x: torch.Tensor) -> nn.Module:
    """The PyTorch CPU inference conversion: every module's ``switch_to_deploy`` (ScaleNet's BN folding and
    BN+ReLU fusion), the generic conv-BN folding for networks without one (torchvision), oneDNN packing."""
    from scalenet_mm.deploy import deploy_for_cpu, fold_conv_bn
    model.eval()
    norms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    if name in TORCHVISION:
        model = fold_conv_bn(model)
    report = deploy_for_cpu(model, x)
    left = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    print(f"  {name}:deploy: {norms - left} of {norms} BNs folded or fused, {report['packed']} convs packed, "
          f"{report['kept_plain']} kept plain (measured faster)", flush=True)
    return model
