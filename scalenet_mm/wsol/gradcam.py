"""Gradient-based and classic class activation maps for any mmpretrain classifier (no external packages).

Methods (``method`` of :func:`build_cam_extractor`):

* ``'cam'`` -- :class:`ClassicCAM`: the maps of a :class:`~scalenet_mm.models.heads.CAMHead` (or the ``fc``
  of a linear head applied at every position of the un-pooled last feature map). No gradients.
* ``'gradcam'`` -- :class:`GradCAM` (Selvaraju et al.): channel weights ``w_k = mean_ij dS/dA_kij``,
  ``cam = ReLU(sum_k w_k A_k)``.
* ``'gradcampp'`` -- :class:`GradCAMPlusPlus` (Chattopadhay et al.): ``w_k = sum_ij alpha_kij ReLU(g_kij)``
  with ``alpha = g^2 / (2 g^2 + sum_ij(A_k) g^3)`` (closed form for an exponentiated score).
* ``'layercam'`` -- :class:`LayerCAM` (Jiang et al.): element-wise weights, ``cam = ReLU(sum_k ReLU(g_k) A_k)``;
  meant for shallow, high-resolution layers.

Target layers (``target_layer``), resolved by :func:`resolve_target_layer`:

* an ``nn.Module`` or the dotted name of one, e.g. ``'backbone.layer4'`` (mmpretrain ResNet);
  a module returning a tuple contributes its element ``output_index`` (default 0); a ``ModuleList``
  (never called itself, e.g. a ScaleNet stage) stands for its last element;
* ScaleNet names: ``'backbone.stage2'`` (stage output ``y`` = level 2), ``'backbone.stage2.a3'`` /
  ``'stage2.a2'`` / ``'stage3.a1'`` (within-block maps of the stage's last block), ``'backbone.stem'``,
  ``'backbone.head_input'``; the ``backbone.`` prefix may be omitted;
* an ``int`` feature level of a ScaleNet backbone: 0 stem, 1..S stage outputs, S+1 (or -1) the head input;
  of an mmpretrain ResNet-family backbone: 1..4 = ``layer1..layer4``, -1 the last.

All extractors return a :class:`CAMResult` with ``cams`` ``(N, h, w)`` (the target class of each image, at
the layer's resolution, not normalised), ``scores`` ``(N, num_classes)`` logits and ``targets``. Put the
model in ``eval()`` mode first (BatchNorm statistics must not mix images of a batch).
"""
import re
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

__all__ = ['CAMResult', 'ClassicCAM', 'GradCAM', 'GradCAMPlusPlus', 'LayerCAM', 'CAM_METHODS',
           'build_cam_extractor', 'resolve_target_layer', 'default_score_fn']

_TAP_INDEX = {'y': 0, 'a3': 1, 'a2': 2, 'a1': 1}


@dataclass
class CAMResult:
    cams: torch.Tensor                       #: (N, h, w) map of each target class
    scores: torch.Tensor                     #: (N, num_classes) logits
    targets: torch.Tensor                    #: (N,) target classes
    weights: Optional[torch.Tensor] = None   #: (N, K) channel weights (Grad-CAM / Grad-CAM++)
    activations: Optional[torch.Tensor] = None  #: (N, K, h, w) target-layer activations
    gradients: Optional[torch.Tensor] = None    #: (N, K, h, w) d score / d activations


def default_score_fn(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``inputs -> logits``: ``head(extract_feat(x))`` for mmpretrain classifiers, else ``model(x)``."""
    if hasattr(model, 'extract_feat') and hasattr(model, 'head'):
        return lambda x: model.head(model.extract_feat(x))

    def call(x):
        out = model(x)
        return out[-1] if isinstance(out, (tuple, list)) else out

    return call


def _backbone(model: nn.Module) -> nn.Module:
    return getattr(model, 'backbone', model)


def _is_scalenet(module: nn.Module) -> bool:
    return type(module).__name__ == 'ScaleNet' and hasattr(module, 'num_levels')


def _scalenet_level(model: nn.Module, level: int, prefix: str) -> Tuple[nn.Module, Optional[int], str]:
    net = _backbone(model)
    res_layers = getattr(net, 'res_layers', None)  # mmpretrain ResNet family: levels 1..4 = layer1..layer4
    if not _is_scalenet(net) and res_layers:
        n = len(res_layers)
        if not (-n <= level < 0 or 1 <= level <= n):
            raise ValueError(f'level {level} out of range: {type(net).__name__} has levels 1..{n} ({res_layers})')
        name = res_layers[level if level < 0 else level - 1]
        return getattr(net, name), None, f'{prefix}{name}'
    if not _is_scalenet(net):
        raise ValueError(f'integer target layers are ScaleNet feature levels, but the backbone is '
                         f'{type(net).__name__}; give a module name such as "backbone.layer4"')
    n = net.num_levels
    if not -n <= level < n:
        raise ValueError(f'level {level} out of range: this ScaleNet has levels 0..{n - 1}')
    level %= n
    if level == 0:
        return net.stem, 0, f'{prefix}stem'
    if level == n - 1:
        return net.out_relu, None, f'{prefix}head_input'
    return getattr(net, f'stage{level}')[-1], 0, f'{prefix}stage{level}'


def resolve_target_layer(model: nn.Module, layer: Union[str, int, nn.Module],
                         output_index: Optional[int] = None) -> Tuple[nn.Module, Optional[int], str]:
    """``(module, output_index, name)`` to hook for ``layer`` (see the module docstring)."""
    if isinstance(layer, nn.Module):
        return layer, output_index, type(layer).__name__
    prefix = 'backbone.' if hasattr(model, 'backbone') else ''
    if isinstance(layer, int) or (isinstance(layer, str) and re.fullmatch(r'-?\d+', layer)):
        return _scalenet_level(model, int(layer), prefix)
    if not isinstance(layer, str):
        raise TypeError(f'target layer must be a name, a level index or a module, got {type(layer).__name__}')
    name = layer
    net = _backbone(model)
    short = name[len('backbone.'):] if name.startswith('backbone.') else name
    if _is_scalenet(net):
        if short == 'head_input':
            return _scalenet_level(model, -1, prefix)
        match = re.fullmatch(r'stage(\d+)(?:\.(y|a1|a2|a3))?', short)
        if match:
            stage = int(match.group(1))
            if not 1 <= stage < net.num_levels - 1:
                raise ValueError(f'{name!r}: this ScaleNet has stages 1..{net.num_levels - 2}')
            tap = match.group(2) or 'y'
            if f'stage{stage}.{tap}' not in net._specs and tap != 'y':
                raise ValueError(f'{name!r}: stage {stage} has no within-block map {tap!r}')
            return getattr(net, f'stage{stage}')[-1], _TAP_INDEX[tap], f'{prefix}stage{stage}.{tap}'
        if short == 'stem':
            return net.stem, 0, f'{prefix}stem'
    try:
        module = model.get_submodule(name)
    except AttributeError:
        try:
            module = net.get_submodule(short)
            name = prefix + short
        except AttributeError:
            raise ValueError(f'no module named {layer!r} in {type(model).__name__}') from None
    if isinstance(module, nn.ModuleList):
        if len(module) == 0:
            raise ValueError(f'{layer!r} is an empty ModuleList')
        module = module[-1]
    return module, output_index, name


class _LayerRecorder:
    """Forward hook keeping the selected output of a module and the gradient flowing into it."""

    def __init__(self, module: nn.Module, output_index: Optional[int]):
        self.output_index = output_index
        self.activation = None
        self.gradient = None
        self.handle = module.register_forward_hook(self._hook)

    def _hook(self, module, inputs, output):
        out = output
        if isinstance(out, (tuple, list)):
            out = out[self.output_index or 0]
        elif self.output_index not in (None, 0):
            raise ValueError(f'output_index={self.output_index} but {type(module).__name__} returns one tensor')
        if not isinstance(out, torch.Tensor) or out.dim() != 4:
            raise ValueError(f'target layer {type(module).__name__} must output an (N, C, H, W) map, got '
                             f'{None if out is None else tuple(getattr(out, "shape", ()))}')
        self.activation = out
        if out.requires_grad:
            self.tensor_handle = out.register_hook(self._save_grad)

    def _save_grad(self, grad):
        self.gradient = grad

    def remove(self):
        """Remove the hooks and drop the references: the tensor hook closes a reference cycle (activation ->
        hook -> recorder -> activation) that would keep the whole autograd graph alive until Python's cyclic
        garbage collector happens to run."""
        self.handle.remove()
        tensor_handle = getattr(self, 'tensor_handle', None)
        if tensor_handle is not None:
            tensor_handle.remove()
            self.tensor_handle = None
        self.activation = None
        self.gradient = None


def _targets(scores: torch.Tensor, targets) -> torch.Tensor:
    if targets is None:
        return scores.argmax(dim=1)
    targets = torch.as_tensor(targets, device=scores.device).reshape(-1).long()
    if targets.numel() == 1 and scores.shape[0] > 1:
        targets = targets.expand(scores.shape[0])
    if targets.numel() != scores.shape[0]:
        raise ValueError(f'{targets.numel()} targets for a batch of {scores.shape[0]}')
    if (targets < 0).any() or (targets >= scores.shape[1]).any():
        raise ValueError(f'targets out of range for {scores.shape[1]} classes')
    return targets


class GradCAM:
    """Grad-CAM on any layer of any classifier. ``extractor(inputs, targets=None) -> CAMResult``;
    ``targets=None`` uses each image's top-1 class.

    Args:
        model: the classifier (mmpretrain ``ImageClassifier`` or any ``nn.Module`` returning logits).
        target_layer: see :func:`resolve_target_layer`.
        output_index: tuple element of the layer's output (default 0).
        score_fn: ``inputs -> logits`` (default :func:`default_score_fn`).
        relu: apply the final ReLU (``False`` keeps the signed map).
    """
    method = 'gradcam'

    def __init__(self, model: nn.Module, target_layer: Union[str, int, nn.Module] = -1,
                 output_index: Optional[int] = None, score_fn: Optional[Callable] = None, relu: bool = True):
        self.model = model
        self.module, self.output_index, self.layer_name = resolve_target_layer(model, target_layer, output_index)
        self.score_fn = score_fn or default_score_fn(model)
        self.relu = relu

    def channel_weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return gradients.mean(dim=(2, 3))

    def combine(self, activations: torch.Tensor, gradients: torch.Tensor):
        weights = self.channel_weights(activations, gradients)
        return (weights[:, :, None, None] * activations).sum(dim=1), weights

    def __call__(self, inputs: torch.Tensor, targets=None) -> CAMResult:
        recorder = _LayerRecorder(self.module, self.output_index)
        try:
            with torch.enable_grad():
                x = inputs.detach().requires_grad_(True)  # gradients flow even through frozen layers
                scores = self.score_fn(x)
                if recorder.activation is None:
                    raise RuntimeError(f'target layer {self.layer_name} was not called in the forward pass')
                tgt = _targets(scores, targets)
                selected = scores.gather(1, tgt[:, None]).sum()
                grads = torch.autograd.grad(selected, recorder.activation, allow_unused=True)[0]
                if grads is None:
                    raise RuntimeError(f'the class scores do not depend on {self.layer_name}')
            acts = recorder.activation.detach()
            grads = grads.detach()
            del selected, x
            cams, weights = self.combine(acts, grads)
            if self.relu:
                cams = cams.clamp(min=0)
            return CAMResult(cams=cams, scores=scores.detach(), targets=tgt, weights=weights,
                             activations=acts, gradients=grads)
        finally:
            recorder.remove()


class GradCAMPlusPlus(GradCAM):
    """Grad-CAM++: pixel-weighted positive gradients (closed form for an exponential score)."""
    method = 'gradcampp'

    def channel_weights(self, activations, gradients):
        g2 = gradients.pow(2)
        g3 = gradients.pow(3)
        denom = 2 * g2 + activations.sum(dim=(2, 3), keepdim=True) * g3
        denom = torch.where(denom != 0, denom, torch.ones_like(denom))
        alpha = g2 / denom
        return (alpha * gradients.clamp(min=0)).sum(dim=(2, 3))


class LayerCAM(GradCAM):
    """LayerCAM: every activation weighted by its own positive gradient."""
    method = 'layercam'

    def combine(self, activations, gradients):
        return (gradients.clamp(min=0) * activations).sum(dim=1), None


class ClassicCAM:
    """Classic CAM from the classifier itself: :class:`~scalenet_mm.models.heads.CAMHead` maps, or a linear
    head's ``fc`` applied to the un-pooled last backbone map (``GlobalAveragePooling`` neck + ``LinearClsHead``).
    The maps keep their sign (no ReLU); they are the head's class scores at each position."""
    method = 'cam'

    def __init__(self, model: nn.Module):
        from scalenet_mm.models.heads import CAMHead
        self.model = model
        head = getattr(model, 'head', None)
        self.is_cam_head = isinstance(head, CAMHead)
        if not self.is_cam_head and not isinstance(getattr(head, 'fc', None), nn.Linear):
            raise TypeError(f'classic CAM needs a CAMHead or a linear-fc head, got {type(head).__name__}')
        self.layer_name = 'head' if self.is_cam_head else 'backbone[-1] x head.fc'

    @torch.no_grad()
    def all_maps(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(cams (N, C, h, w), logits (N, C))``."""
        from scalenet_mm.models.heads import cam_head_maps
        if self.is_cam_head:
            feats = self.model.extract_feat(inputs)
        else:
            feats = self.model.backbone(inputs)  # skip the pooling neck
        return cam_head_maps(self.model.head, feats)

    def __call__(self, inputs: torch.Tensor, targets=None) -> CAMResult:
        maps, scores = self.all_maps(inputs)
        tgt = _targets(scores, targets)
        cams = maps[torch.arange(maps.shape[0], device=maps.device), tgt]
        return CAMResult(cams=cams, scores=scores, targets=tgt)


CAM_METHODS = {'cam': ClassicCAM, 'gradcam': GradCAM, 'gradcampp': GradCAMPlusPlus, 'layercam': LayerCAM}


def build_cam_extractor(model: nn.Module, method: str = 'cam',
                        target_layer: Union[str, int, nn.Module, None] = None, **kwargs):
    """An extractor of ``method`` (``'cam'``, ``'gradcam'``, ``'gradcampp'``, ``'layercam'``) for ``model``.
    ``target_layer`` must be None for ``'cam'`` (the head decides the level) and defaults to the last level
    (``-1``: ScaleNet's head input, ResNet's last layer) for the gradient methods."""
    if method not in CAM_METHODS:
        raise ValueError(f'unknown CAM method {method!r}; choose from {sorted(CAM_METHODS)}')
    if method == 'cam':
        if target_layer is not None:
            raise ValueError("method 'cam' uses the level the CAMHead was trained on; use a gradient method "
                             '(gradcam / gradcampp / layercam) for another level')
        return ClassicCAM(model)
    return CAM_METHODS[method](model, -1 if target_layer is None else target_layer, **kwargs)
