"""Exact multiply-accumulate counting (the convention of spec §12: deconvolutions at input resolution)."""
from torch import nn

__all__ = ['MacCounter']


class MacCounter:
    """Forward hooks that accumulate MACs per layer type."""

    def __init__(self, model: nn.Module) -> None:
        self.macs = dict(conv=0, deconv=0, linear=0)
        self.deconv_at_output = 0
        self.layers = dict(conv=0, deconv=0, linear=0)
        self._seen = set()
        self._handles = [m.register_forward_hook(self._hook) for m in model.modules()
                         if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]

    def _hook(self, module, inputs, output) -> None:
        x = inputs[0]
        if isinstance(module, nn.ConvTranspose2d):
            n, _, h, w = x.shape
            k = module.kernel_size[0] * module.kernel_size[1]
            per = module.in_channels * (module.out_channels // module.groups) * k
            self.macs['deconv'] += per * h * w * n
            self.deconv_at_output += per * output.shape[-2] * output.shape[-1] * n
            kind = 'deconv'
        elif isinstance(module, nn.Conv2d):
            n, _, h, w = output.shape
            k = module.kernel_size[0] * module.kernel_size[1]
            self.macs['conv'] += module.out_channels * (module.in_channels // module.groups) * k * h * w * n
            kind = 'conv'
        else:
            self.macs['linear'] += module.in_features * module.out_features * (x.numel() // x.shape[-1])
            kind = 'linear'
        if id(module) not in self._seen:
            self._seen.add(id(module))
            self.layers[kind] += 1

    @property
    def total(self) -> int:
        return sum(self.macs.values())

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
