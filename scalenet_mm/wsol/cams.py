"""Class activation maps: the one place that turns (model, images, targets) into (maps, scores).

Methods (``method`` of :func:`build_cam_extractor`):

* ``'cam'`` -- :class:`ClassicCAM`, ours: the maps of a :class:`~scalenet_mm.models.heads.CAMHead` (or the
  ``fc`` of a linear head applied at every position of the un-pooled last feature map). No gradients, and no
  library offers it for mmpretrain heads.
* the gradient / perturbation methods of ``pytorch-grad-cam`` (:data:`GRADIENT_METHODS`: ``'gradcam'``,
  ``'gradcampp'``, ``'layercam'``, ``'xgradcam'``, ``'hirescam'``, ``'scorecam'``, ``'eigencam'``,
  ``'eigengradcam'``, ``'gradcamelementwise'``) behind :class:`LibraryCAM`, our adaptor: target layers from the
  backbone's ``feature_info``, tuple outputs (ScaleNet blocks return three maps), batches with one target per
  image, and the raw map at the layer's resolution (the library's own ``forward`` would min-max normalise and
  resize it to the input).
* :class:`MultiScaleCAM` -- the paper's Fig. 8 / Fig. 10 fusion over input sizes (not in the library).

Target layers (``target_layer``), resolved by :func:`resolve_target_layer`:

* an ``nn.Module`` or the dotted name of one, e.g. ``'backbone.layer4'``; a ``ModuleList`` (never called
  itself) stands for its last element;
* for a backbone with ``feature_info`` (ScaleNet): a level index (0 stem .. S+1 or -1 the head input) or a
  feature name (``'backbone.stage2'``, ``'stage2.a3'``, ``'head_input'``; the ``backbone.`` prefix may be
  omitted), hooked at the module path and output index the backbone publishes;
* for an mmpretrain ResNet-family backbone (``res_layers``): levels 1..4 = ``layer1..layer4``, -1 the last.

All extractors return a :class:`CAMResult` with ``cams`` ``(N, h, w)`` (the target class of each image, at the
layer's resolution, not normalised), ``scores`` ``(N, num_classes)`` logits and ``targets``. Put the model in
``eval()`` mode first (BatchNorm statistics must not mix images of a batch).
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from scalenet_mm.utils.normalization import minmax_normalize

__all__ = [
    'CAMResult', 'ClassicCAM', 'LibraryCAM', 'MultiScaleCAM', 'GRADIENT_METHODS', 'CAM_METHODS', 'FUSIONS',
    'build_cam_extractor', 'resolve_target_layer', 'default_score_fn', 'classifier_cams', 'resize_maps',
    'fuse_cams'
]

FUSIONS = ('mean', 'max')


@dataclass
class CAMResult:
    cams: torch.Tensor                       #: (N, h, w) map of each target class
    scores: torch.Tensor                     #: (N, num_classes) logits
    targets: torch.Tensor                    #: (N,) target classes


def _grad_cam_classes() -> Dict[str, type]:
    import pytorch_grad_cam as pgc
    return {
        'gradcam': pgc.GradCAM, 'gradcampp': pgc.GradCAMPlusPlus, 'layercam': pgc.LayerCAM,
        'xgradcam': pgc.XGradCAM, 'hirescam': pgc.HiResCAM, 'scorecam': pgc.ScoreCAM, 'eigencam': pgc.EigenCAM,
        'eigengradcam': pgc.EigenGradCAM, 'gradcamelementwise': pgc.GradCAMElementWise
    }


#: Method names served by pytorch-grad-cam through :class:`LibraryCAM`.
GRADIENT_METHODS = ('gradcam', 'gradcampp', 'layercam', 'xgradcam', 'hirescam', 'scorecam', 'eigencam',
                    'eigengradcam', 'gradcamelementwise')
CAM_METHODS = ('cam', ) + GRADIENT_METHODS


def default_score_fn(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``inputs -> logits``: ``head(extract_feat(x))`` for mmpretrain classifiers, else ``model(x)``."""
    if hasattr(model, 'extract_feat') and hasattr(model, 'head'):
        return lambda x: model.head(model.extract_feat(x))

    def call(x):
        out = model(x)
        return out[-1] if isinstance(out, (tuple, list)) else out

    return call


# ------------------------------------------------------------------------------------------- target layers
def _backbone(model: nn.Module) -> nn.Module:
    return getattr(model, 'backbone', model)


def _resnet_level(net: nn.Module, level: int, prefix: str) -> Tuple[nn.Module, Optional[int], str]:
    layers = net.res_layers
    n = len(layers)
    if not (-n <= level < 0 or 1 <= level <= n):
        raise ValueError(f'level {level} out of range: {type(net).__name__} has levels 1..{n} ({layers})')
    name = layers[level if level < 0 else level - 1]
    return getattr(net, name), None, f'{prefix}{name}'


def _feature_layer(net: nn.Module, key: Union[int, str], prefix: str) -> Tuple[nn.Module, Optional[int], str]:
    info = net.get_feature_info(key)
    name = info.name
    if isinstance(key, str) and name.startswith('stage') and '.' not in name:
        name += '.y'  # a stage named as a layer is its last block's main output y
    return net.get_submodule(info.module), info.output_index, f'{prefix}{name}'


def resolve_target_layer(model: nn.Module, layer: Union[str, int, nn.Module],
                         output_index: Optional[int] = None) -> Tuple[nn.Module, Optional[int], str]:
    """``(module, output_index, name)`` to hook for ``layer`` (see the module docstring)."""
    if isinstance(layer, nn.Module):
        return layer, output_index, type(layer).__name__
    if isinstance(layer, str) and layer.lstrip('-').isdigit():
        layer = int(layer)
    prefix = 'backbone.' if hasattr(model, 'backbone') else ''
    net = _backbone(model)
    has_features = callable(getattr(net, 'get_feature_info', None))
    if isinstance(layer, int) and not isinstance(layer, bool):
        if has_features:
            return _feature_layer(net, layer, prefix)
        if getattr(net, 'res_layers', None):
            return _resnet_level(net, layer, prefix)
        raise ValueError(f'integer target layers are feature levels, but {type(net).__name__} publishes no '
                         'feature_info; give a module name such as "backbone.layer4"')
    if not isinstance(layer, str):
        raise TypeError(f'target layer must be a name, a level index or a module, got {type(layer).__name__}')
    short = layer[len('backbone.'):] if layer.startswith('backbone.') else layer
    feature_error = None
    if has_features:
        try:
            return _feature_layer(net, short, prefix)
        except ValueError as error:  # not a feature name: maybe any other module of the model
            feature_error = error
    try:
        module, name = model.get_submodule(layer), layer
    except AttributeError:
        try:
            module, name = net.get_submodule(short), prefix + short
        except AttributeError:
            if feature_error is not None:
                raise feature_error from None
            raise ValueError(f'no module named {layer!r} in {type(model).__name__}') from None
    if isinstance(module, nn.ModuleList):
        if len(module) == 0:
            raise ValueError(f'{layer!r} is an empty ModuleList')
        module = module[-1]
    return module, output_index, name


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


# -------------------------------------------------------------------------------------------- extractors
class _LogitsModule(nn.Module):
    """``x -> logits`` as a module, the form pytorch-grad-cam calls."""

    def __init__(self, model: nn.Module, score_fn: Callable):
        super().__init__()
        self.model = model
        self.score_fn = score_fn

    def forward(self, x):
        return self.score_fn(x)


class _Tap(nn.Module):
    """An identity the target map is routed through, so the library's hooks see one tensor even when the
    hooked layer returns a tuple."""

    def forward(self, x):
        return x


class LibraryCAM:
    """A pytorch-grad-cam method on any layer of any classifier: ``extractor(inputs, targets=None) ->
    CAMResult``; ``targets=None`` uses each image's top-1 class.

    Args:
        model: the classifier (mmpretrain ``ImageClassifier`` or any ``nn.Module`` returning logits).
        method: one of :data:`GRADIENT_METHODS`.
        target_layer: see :func:`resolve_target_layer` (default -1: the last level).
        output_index: tuple element of the layer's output (default: what ``feature_info`` says, else 0).
        score_fn: ``inputs -> logits`` (default :func:`default_score_fn`).
        relu: apply the final ReLU (``False`` keeps the signed map).
    """

    def __init__(self, model: nn.Module, method: str = 'gradcam', target_layer: Union[str, int, nn.Module] = -1,
                 output_index: Optional[int] = None, score_fn: Optional[Callable] = None, relu: bool = True):
        classes = _grad_cam_classes()
        if method not in classes:
            raise ValueError(f'unknown pytorch-grad-cam method {method!r}; choose from {sorted(classes)}')
        self.method = method
        self.model = model
        self.module, self.output_index, self.layer_name = resolve_target_layer(model, target_layer, output_index)
        self.logits = _LogitsModule(model, score_fn or default_score_fn(model))
        self.relu = relu
        self._cam_class = classes[method]

    def _route(self, tap: nn.Module):
        index = self.output_index

        def hook(module, inputs, output):
            if isinstance(output, (tuple, list)):
                selected = list(output)
                selected[index or 0] = tap(selected[index or 0])
                return type(output)(selected)
            if index not in (None, 0):
                raise ValueError(f'output_index={index} but {type(module).__name__} returns one tensor')
            return tap(output)

        return self.module.register_forward_hook(hook)

    def __call__(self, inputs: torch.Tensor, targets=None) -> CAMResult:
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
        tap = _Tap()
        route = self._route(tap)
        cam = self._cam_class(self.logits, [tap])
        recorder = cam.activations_and_grads
        try:
            with torch.enable_grad():
                x = inputs.detach().requires_grad_(True)  # gradients flow even through frozen layers
                scores = recorder(x)
                if not recorder.activations:
                    raise RuntimeError(f'target layer {self.layer_name} was not called in the forward pass')
                activation = recorder.activations[-1]
                if activation.dim() != 4:
                    raise ValueError(f'target layer {self.layer_name} must output an (N, C, H, W) map, got '
                                     f'{tuple(activation.shape)}')
                tgt = _targets(scores, targets)
                wanted = [ClassifierOutputTarget(int(t)) for t in tgt]
                grads = None
                if cam.uses_gradients:
                    self.logits.zero_grad(set_to_none=True)
                    sum(t(o) for t, o in zip(wanted, scores)).backward()
                    if not recorder.gradients:
                        raise RuntimeError(f'the class scores do not depend on {self.layer_name}')
                    grads = recorder.gradients[0].numpy()
                raw = cam.get_cam_image(x, tap, wanted, activation.numpy(), grads, False)
        finally:
            recorder.release()
            route.remove()
            self.logits.zero_grad(set_to_none=True)
        cams = torch.as_tensor(raw, dtype=torch.float32)
        if self.relu:
            cams = cams.clamp(min=0)
        return CAMResult(cams=cams, scores=scores.detach(), targets=tgt)


class ClassicCAM:
    """Classic CAM from the classifier itself: :class:`~scalenet_mm.models.heads.CAMHead` maps, or a linear
    head's ``fc`` applied to the un-pooled last backbone map (``GlobalAveragePooling`` neck + linear head).
    The maps keep their sign (no ReLU); they are the head's class scores at each position."""
    method = 'cam'

    def __init__(self, model: nn.Module):
        from scalenet_mm.models.heads import CAMHead
        self.model = model
        head = getattr(model, 'head', None)
        # CAMHead, or any head that publishes its class score maps (e.g. the multi-label CAM head)
        self.is_cam_head = isinstance(head, CAMHead) or callable(getattr(head, 'forward_cam', None))
        if not self.is_cam_head and not isinstance(getattr(head, 'fc', None), nn.Linear):
            raise TypeError(f'classic CAM needs a CAMHead or a linear-fc head, got {type(head).__name__}')
        self.layer_name = 'head' if self.is_cam_head else 'backbone[-1] x head.fc'

    @torch.no_grad()
    def all_maps(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(cams (N, C, h, w), logits (N, C))``."""
        from scalenet_mm.models.heads import cam_head_maps
        feats = self.model.extract_feat(inputs) if self.is_cam_head else self.model.backbone(inputs)
        return cam_head_maps(self.model.head, feats)

    def __call__(self, inputs: torch.Tensor, targets=None) -> CAMResult:
        maps, scores = self.all_maps(inputs)
        tgt = _targets(scores, targets)
        cams = maps[torch.arange(maps.shape[0], device=maps.device), tgt]
        return CAMResult(cams=cams, scores=scores, targets=tgt)


def classifier_cams(model: nn.Module, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Classic CAMs of all classes and the class scores of a batch: ``(cams (N, C, h, w), scores (N, C))``,
    sigmoid scores for a multi-label head (``MultiLabelClsHead`` family), softmax otherwise."""
    from mmpretrain.models.heads import MultiLabelClsHead
    cams, logits = ClassicCAM(model).all_maps(inputs)
    scores = logits.sigmoid() if isinstance(model.head, MultiLabelClsHead) else logits.softmax(dim=1)
    return cams, scores


def build_cam_extractor(model: nn.Module, method: str = 'cam',
                        target_layer: Union[str, int, nn.Module, None] = None, **kwargs):
    """An extractor of ``method`` (:data:`CAM_METHODS`) for ``model``. ``target_layer`` must be None for
    ``'cam'`` (the head decides the level) and defaults to the last level (``-1``: ScaleNet's head input,
    ResNet's last layer) for the library methods."""
    if method not in CAM_METHODS:
        raise ValueError(f'unknown CAM method {method!r}; choose from {list(CAM_METHODS)}')
    if method == 'cam':
        if target_layer is not None:
            raise ValueError("method 'cam' uses the level the CAMHead was trained on; use a gradient method "
                             '(gradcam / gradcampp / layercam ...) for another level')
        return ClassicCAM(model)
    return LibraryCAM(model, method, -1 if target_layer is None else target_layer, **kwargs)


# ----------------------------------------------------------------------------------- multi-scale fusion
def resize_maps(maps: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize ``(N, h, w)`` maps to ``size=(H, W)`` (``align_corners=False``)."""
    if maps.dim() != 3:
        raise ValueError(f'expected (N, h, w) maps, got shape {tuple(maps.shape)}')
    size = tuple(int(v) for v in size)
    if tuple(maps.shape[-2:]) == size:
        return maps
    return F.interpolate(maps[:, None].float(), size=size, mode='bilinear', align_corners=False)[:, 0]


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
        resized = [minmax_normalize(m.float(), eps=1e-12) for m in resized]  # eps: near-constant maps -> 0
    stack = torch.stack(resized)
    out = {'stack': stack}
    if 'mean' in modes:
        out['mean'] = stack.mean(dim=0)
    if 'max' in modes:
        out['max'] = stack.max(dim=0).values
    return out


class MultiScaleCAM:
    """Run a CAM extractor at several input sizes and fuse the maps (the paper's Fig. 8 / Fig. 10).

    The whole image is resized to each square input size, the CAM of the same target class is computed at
    every size, resized back to a common size (bilinear), min-max normalised per image by default, and fused
    by the pixel-wise ``mean`` and ``max``. Sizes below the backbone's ``min_input_size`` are skipped (listed in
    :attr:`skipped`). The target class is fixed across scales: the given targets or, when ``None``, the top-1
    class at the input's own size, whose logits are returned.

    ``__call__(inputs, targets=None)`` returns ``dict(mean=..., max=..., stack=(S, N, H, W), sizes=[...],
    scores=logits at the input size, targets=(N,), reference=the maps at the input size)``.
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
