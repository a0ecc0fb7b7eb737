"""Multi-scale CAMs (the paper's Fig. 8 / Fig. 10 experiment, as a fusion method).

The whole image is resized to each of several square input sizes (the paper uses 32, 64, 128, 224, 256, 320
and 512), the CAM of the same target class is computed at every size, each map is resized back to a common
size (bilinear) and, by default, min-max normalised per image, and the maps are fused by their pixel-wise
``mean`` and ``max``. ScaleNet accepts any input of at least ``backbone.min_input_size`` pixels; smaller
sizes are skipped (with a note in :attr:`MultiScaleCAM.skipped`).

The target class is fixed across scales: the given targets (e.g. the GT class) or, when ``targets`` is
``None``, the top-1 class at the reference size (the input's own size), whose logits are returned.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

__all__ = ['resize_maps', 'normalize_maps', 'fuse_cams', 'MultiScaleCAM', 'FUSIONS']

FUSIONS = ('mean', 'max')


def resize_maps(maps: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize ``(N, h, w)`` maps to ``size=(H, W)`` (``align_corners=False``)."""
    if maps.dim() != 3:
        raise ValueError(f'expected (N, h, w) maps, got shape {tuple(maps.shape)}')
    size = tuple(int(v) for v in size)
    if tuple(maps.shape[-2:]) == size:
        return maps
    return F.interpolate(maps[:, None].float(), size=size, mode='bilinear', align_corners=False)[:, 0]


def normalize_maps(maps: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Per-map min-max normalisation of ``(N, H, W)`` maps to [0, 1]; constant maps become 0."""
    flat = maps.reshape(maps.shape[0], -1).float()
    lo = flat.min(dim=1, keepdim=True).values
    hi = flat.max(dim=1, keepdim=True).values
    span = hi - lo
    out = torch.where(span > eps, (flat - lo) / span.clamp(min=eps), torch.zeros_like(flat))
    return out.reshape(maps.shape)


def fuse_cams(maps: Sequence[torch.Tensor], out_size: Tuple[int, int], normalize: bool = True,
              modes: Sequence[str] = FUSIONS) -> Dict[str, torch.Tensor]:
    """Fuse per-scale maps. ``maps``: one ``(N, h_i, w_i)`` tensor per scale. Returns
    ``{'stack': (S, N, H, W), 'mean': (N, H, W), 'max': (N, H, W)}`` (only the requested modes); each map is
    resized to ``out_size`` and, with ``normalize``, min-max normalised before fusion."""
    if len(maps) == 0:
        raise ValueError('fuse_cams needs at least one map')
    for mode in modes:
        if mode not in FUSIONS:
            raise ValueError(f'unknown fusion {mode!r}; choose from {FUSIONS}')
    resized = [resize_maps(m, out_size) for m in maps]
    if normalize:
        resized = [normalize_maps(m) for m in resized]
    stack = torch.stack(resized)
    out = {'stack': stack}
    if 'mean' in modes:
        out['mean'] = stack.mean(dim=0)
    if 'max' in modes:
        out['max'] = stack.max(dim=0).values
    return out


class MultiScaleCAM:
    """Run a CAM extractor at several input sizes and fuse the maps.

    Args:
        extractor: ``(inputs, targets) -> CAMResult`` (see :mod:`scalenet_mm.wsol.gradcam`).
        sizes: square input sizes, e.g. ``(32, 64, 128, 224, 256, 320, 512)``; an ``(h, w)`` pair is allowed.
        out_size: common size of the fused maps (default: the input's size).
        min_input_size: sizes below it are skipped (default: ``model.backbone.min_input_size`` when the
            extractor's model has one).
        normalize: min-max normalise each map before fusion (so that every scale weighs the same).
        modes: fusions to compute (``'mean'``, ``'max'``).

    ``__call__(inputs, targets=None)`` returns ``dict(mean=..., max=..., stack=(S, N, H, W), sizes=[...],
    scores=logits at the input size, targets=(N,))``.
    """

    def __init__(self, extractor: Callable, sizes: Sequence[Union[int, Tuple[int, int]]] = (32, 64, 128, 224),
                 out_size: Optional[Tuple[int, int]] = None, min_input_size: Optional[int] = None,
                 normalize: bool = True, modes: Sequence[str] = FUSIONS):
        if not sizes:
            raise ValueError('MultiScaleCAM needs at least one input size')
        self.extractor = extractor
        self.sizes = [(s, s) if isinstance(s, int) else tuple(int(v) for v in s) for s in sizes]
        if min_input_size is None:
            backbone = getattr(getattr(extractor, 'model', None), 'backbone', None)
            min_input_size = getattr(backbone, 'min_input_size', None)
        self.min_input_size = min_input_size
        self.usable = [s for s in self.sizes if min_input_size is None or min(s) >= min_input_size]
        self.skipped = [s for s in self.sizes if s not in self.usable]
        if not self.usable:
            raise ValueError(f'no input size in {self.sizes} reaches the minimum input size {min_input_size}')
        self.out_size = out_size
        self.normalize = normalize
        self.modes = tuple(modes)

    def __call__(self, inputs: torch.Tensor, targets=None) -> Dict[str, object]:
        ref = self.extractor(inputs, targets)
        targets = ref.targets
        maps: List[torch.Tensor] = []
        for size in self.usable:
            x = inputs if tuple(inputs.shape[-2:]) == size else F.interpolate(
                inputs, size=size, mode='bilinear', align_corners=False)
            maps.append(self.extractor(x, targets).cams.detach())
        out_size = self.out_size or tuple(inputs.shape[-2:])
        fused = fuse_cams(maps, out_size, self.normalize, self.modes)
        fused.update(sizes=list(self.usable), scores=ref.scores, targets=targets, reference=ref.cams)
        return fused
