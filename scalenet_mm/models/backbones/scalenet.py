"""ScaleNet backbone (Zhang et al., "ScaleNet", IEEE Access 2019) for mmpretrain and mmdet.

Numerically equivalent to the authors' reference implementation for the same weights (see
``tools/convert_original_checkpoint.py``), with three deliberate differences:

* modules whose output never reaches the logits (the reference's D->S "dead" transition path, spec §7.4) are
  not built, so DDP needs no ``find_unused_parameters``;
* the reference head's final BN+ReLU is the last layer of the backbone (``out_norm``), so mmpretrain's
  ``GlobalAveragePooling`` neck and ``LinearClsHead`` complete the classifier;
* any input of at least :attr:`ScaleNet.min_input_size` works (the reference needs sides with particular
  divisibility, spec §10); on sizes the reference accepts the outputs are identical.
"""
import contextlib
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmengine.model.weight_init import constant_init
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from torch.nn.modules.batchnorm import _BatchNorm

from scalenet_mm.registry import register_model

from ..layers import RESIDUAL_WIRINGS, DoubleCouple, InteractiveTransition, LastDownUnit, ScaleNetStem, SingleCouple
from .scalenet_arch import ARCH_ZOO, SLINKS, ArchError, ScaleNetArch, resolve_arch, scalenet_depth, scalenet_name

__all__ = ['ScaleNet', 'FeatureInfo']


@contextlib.contextmanager
def _keep_bn_statistics(module: nn.Module):
    """During checkpoint recomputation, stop BN layers from updating their running statistics a second time."""
    saved = [(m, m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None)
             for m in module.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    for m, _, _ in saved:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum, tracked in saved:
            m.momentum = momentum
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)

_SLINK_OF = {v: k for k, v in SLINKS.items()}


@dataclass(frozen=True)
class FeatureInfo:
    """One selectable output of a ScaleNet (the timm ``feature_info`` contract, plus the hook point).

    ``key`` is what ``out_indices`` takes (a level index, or a within-block map name); ``module`` is the dotted
    path (relative to the backbone) of the module whose output holds the map, and ``output_index`` the element
    of that module's tuple output (``None``: the module returns the map itself). CAM extractors hook
    ``module`` / ``output_index``; detection necks read ``channels`` / ``stride``.
    """
    key: Union[int, str]
    name: str
    channels: int
    stride: int
    module: str
    output_index: Optional[int]

    def as_dict(self) -> dict:
        return asdict(self)

_BLOCKS = {'D': DoubleCouple, 'S': SingleCouple}
#: Within-block maps a stage's last block exposes, per block type.
_TAPS = {'D': ('y', 'a3', 'a2'), 'S': ('y', 'a1')}
#: Element of a block's ``(x1, x2, x3)`` output that holds each within-block map.
_TAP_INDEX = {'y': 0, 'a3': 1, 'a2': 2, 'a1': 1}

DEFAULT_INIT_CFG = [
    dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu', distribution='normal'),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
    dict(type='Kaiming', layer='Linear', mode='fan_in', nonlinearity='relu', distribution='normal', bias=0),
]


@register_model()
class ScaleNet(BaseBackbone):
    """ScaleNet: stacked conv-deconv blocks with a multipath residual structure.

    Feature levels (for ``out_indices``): ``0`` the stem output, ``1..S`` the main output ``y`` of each stage
    (before its transition), ``S+1`` the head input (after the last-down unit and the output BN+ReLU). For
    vo21 (``'D4D5S5'``) at 224x224 they are 80x56x56, 80x56x56, 160x28x28, 400x14x14 and 1746x7x7 (strides 4,
    4, 8, 16, 32); :attr:`feature_info` lists every selectable output (channels, stride, module path) for any
    arch and :attr:`out_feature_info` the selected ones. An entry of ``out_indices``
    may also name a within-block map of a stage's last block, ``'stage{i}.{y|a3|a2}'`` for D stages or
    ``'stage{i}.{y|a1}'`` for S stages (e.g. ``'stage2.a3'``, the 2x-downsampled deconv map inside the last
    block of stage 2). Outputs come in the order of ``out_indices``; keep the head input last for classifiers.

    Args:
        arch: a preset (authors' id such as ``'vo21'``, config-style ``'imagenet_d4d5s5'`` or paper name
            ``'D4D5S5'``; see :data:`ARCH_ZOO`) or a dict in the key format of the authors' arch files.
        stem_type: ``'imagenet'`` (stride-4, BN+ReLU) or ``'cifar'`` (stride-1 bare convs). Default: the
            preset's own (``arch['stem']``); required for custom dicts without a ``'stem'`` key.
        in_channels: image channels.
        out_indices: feature levels or within-block map names to return, see above.
        frozen_stages: freeze the stem (0) and stages ``1..k`` with the modules that feed the next stage
            (their transition; for the last stage also the last-down unit and the output norm). -1: none.
        residual: override the arch's wiring: ``'multipath'`` (paper), ``'singlepath'`` (Table 5), ``'none'``.
        downsample: override Table 4's down-sampling: ``'conv'`` (A, stride-2 conv) or ``'pool'`` (C).
        upsample: override Table 4's up-sampling: ``'deconv'`` (B) or ``'interp'`` (D, nearest + conv).
        deconv_kernel: override the deconv type: 3 (k3 s2 p1 op1, version 3) or 4 (k4 s2 p1 op0, versions 1/2).
        deconv_impl: ``'native'`` (``nn.ConvTranspose2d``) or ``'phase'`` (the same deconvolution computed as
            ordinary convolutions; identical state dict, faster on CPU).
        conv_cfg / norm_cfg: mmcv layer configs (BN, SyncBN and GN work).
        norm_eval: keep BN layers in eval mode during training (frozen statistics).
        with_cp: gradient checkpointing of every block (saves memory, same gradients).
        zero_init_residual: zero the last BN of every block so that each block starts as an identity.
        init_cfg: defaults to the reference init: He-normal (fan-out) convs, deconvs left at PyTorch's
            default, norms 1/0, Kaiming-normal Linear.
    """
    arch_zoo = ARCH_ZOO

    def __init__(self,
                 arch: Union[str, dict] = 'vo21',
                 stem_type: Optional[str] = None,
                 in_channels: int = 3,
                 out_indices: Sequence[Union[int, str]] = (-1, ),
                 frozen_stages: int = -1,
                 residual: Optional[str] = None,
                 downsample: Optional[str] = None,
                 upsample: Optional[str] = None,
                 deconv_kernel: Optional[int] = None,
                 deconv_impl: str = 'native',
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 zero_init_residual: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = DEFAULT_INIT_CFG) -> None:
        super().__init__(init_cfg)
        self.preset, arch_dict = resolve_arch(arch)
        overrides = dict(slink=None if residual is None else _SLINK_OF.get(residual, residual),
                         downscale=downsample, upscale=upsample)
        if residual is not None and residual not in RESIDUAL_WIRINGS:
            raise ArchError(f'residual must be one of {RESIDUAL_WIRINGS}, got {residual!r}')
        arch_dict.update({k: v for k, v in overrides.items() if v is not None})
        self.arch = ScaleNetArch.from_dict(arch_dict)
        a = self.arch
        self.stem_type = stem_type or a.stem
        if self.stem_type is None:
            raise ArchError("custom arch dicts need stem_type='imagenet' or 'cifar' (or a 'stem' key); the stem "
                            'is not inferred from the number of classes')
        if deconv_kernel not in (None, 3, 4):
            raise ArchError(f'deconv_kernel must be 3 (k3 s2 p1 op1) or 4 (k4 s2 p1 op0), got {deconv_kernel!r}')
        self.deconv_kernel = deconv_kernel or a.deconv_kernel
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'in_channels must be a positive int, got {in_channels!r}')
        self.in_channels = in_channels
        self.frozen_stages, self.norm_eval, self.with_cp = frozen_stages, norm_eval, with_cp
        self.zero_init_residual = zero_init_residual
        self.residuals = tuple(SLINKS[s] for s in a.slink)

        widths, growth, nxt = a.widths, a.growth, a.next_growth
        first = _BLOCKS[a.blocks[0]]
        branches = [1] + [k for k, used in ((2, first.consumes_x2[self.residuals[0]]),
                                            (3, first.consumes_x3[self.residuals[0]])) if a.branch >= k and used]
        self.stem = ScaleNetStem(self.stem_type, in_channels, widths[0], growth[0], a.rock, tuple(branches),
                                 conv_cfg, norm_cfg)
        block_kwargs = dict(downsample=a.downscale, upsample=a.upscale, deconv_kernel=self.deconv_kernel,
                            deconv_impl=deconv_impl, interp_kernel=a.upksp, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        for i in range(a.stages):
            block = _BLOCKS[a.blocks[i]]
            self.add_module(f'stage{i + 1}', nn.ModuleList([
                block(widths[i], growth[i], self.residuals[i], **block_kwargs) for _ in range(a.layers[i])]))
            if i + 1 < a.stages:
                nxt_block, nxt_res = _BLOCKS[a.blocks[i + 1]], self.residuals[i + 1]
                self.add_module(f'transition{i + 1}', InteractiveTransition(
                    a.blocks[i], widths[i], growth[i], widths[i + 1], nxt[i], a.dstyle,
                    build_mid=nxt_block.consumes_x2[nxt_res], build_low=nxt_block.consumes_x3[nxt_res],
                    keep_identity_convs=a.version == 1, conv_cfg=conv_cfg))
        self.down_last = LastDownUnit(widths[-1], a.out_channels, a.last_dfuc, conv_cfg,
                                      norm_cfg) if a.last_down else None
        self.out_norm = build_norm_layer(norm_cfg, a.out_channels)[1]
        self.out_relu = nn.ReLU(inplace=True)

        self.feature_info = self._build_feature_info()
        self.out_indices = self._parse_out_indices(out_indices)
        self.min_input_size = max(self._internal_strides())
        self._freeze_stages()

    # ------------------------------------------------------------------------------------------------ specs
    @property
    def num_levels(self) -> int:
        return self.arch.stages + 2

    def _build_feature_info(self) -> List[FeatureInfo]:
        a, s0 = self.arch, self.stem.stride
        info = [FeatureInfo(0, 'stem', a.widths[0], s0, 'stem', 0)]
        for i in range(a.stages):
            c, g, r = a.widths[i], a.growth[i], s0 * 2**i
            last_block = f'stage{i + 1}.{a.layers[i] - 1}'
            info.append(FeatureInfo(i + 1, f'stage{i + 1}', c, r, last_block, 0))
            taps = dict(a3=(c + g, 2 * r), a2=(c + 2 * g, 4 * r), a1=(c + g, 2 * r))
            for tap in _TAPS[a.blocks[i]][1:]:
                name = f'stage{i + 1}.{tap}'
                info.append(FeatureInfo(name, name, taps[tap][0], taps[tap][1], last_block, _TAP_INDEX[tap]))
        last_stride = s0 * 2**(a.stages - 1) * (2 if a.last_down else 1)
        info.append(FeatureInfo(a.stages + 1, 'head_input', a.out_channels, last_stride, 'out_relu', None))
        return info

    def _internal_strides(self) -> List[int]:
        """Strides of every map the network computes (the coarsest one sets the minimum input size)."""
        strides = [f.stride for f in self.feature_info]
        a, s0 = self.arch, self.stem.stride
        for i in range(a.stages - 1):
            t = getattr(self, f'transition{i + 1}')
            r = s0 * 2**i
            strides += [4 * r] * hasattr(t, 'fuse2') + [8 * r] * hasattr(t, 'fuse3')
        return strides

    def get_feature_info(self, key: Union[int, str]) -> FeatureInfo:
        """The :class:`FeatureInfo` of one selectable output: a level index (negative counts from the head
        input) or a name (``'stem'``, ``'stage2'``, ``'stage2.a3'``, ``'head_input'``)."""
        if isinstance(key, int) and not isinstance(key, bool) and -self.num_levels <= key < self.num_levels:
            key %= self.num_levels
        for info in self.feature_info:
            if key in (info.key, info.name) or key == f'{info.name}.y':
                return info
        names = [f.name for f in self.feature_info]
        raise ValueError(f'{key!r} is neither a level index (0..{self.num_levels - 1}) nor one of {names}')

    @property
    def out_feature_info(self) -> List[FeatureInfo]:
        """The :class:`FeatureInfo` of the outputs selected by ``out_indices``, in output order."""
        return [self.get_feature_info(idx) for idx in self.out_indices]

    @property
    def out_channels(self) -> List[int]:
        return [info.channels for info in self.out_feature_info]

    def _parse_out_indices(self, out_indices: Sequence[Union[int, str]]) -> Tuple[Union[int, str], ...]:
        if isinstance(out_indices, (int, str)):
            out_indices = [out_indices]
        parsed = []
        for idx in out_indices:
            if isinstance(idx, bool) or not isinstance(idx, (int, str)):
                raise ValueError(f'out_indices entries are level indices or names, got {idx!r}')
            if isinstance(idx, int) and not -self.num_levels <= idx < self.num_levels:
                raise ValueError(f'out_indices entry {idx} is out of range: this ScaleNet has levels 0..'
                                 f'{self.num_levels - 1} (stem, stage1..stage{self.arch.stages}, head input)')
            info = self.get_feature_info(idx)  # raises on an unknown name
            # a level given by name ('stem', 'stage2', 'head_input') is stored as its index; 'stage{i}.y' and the
            # within-block maps stay names (the keys forward() fills)
            parsed.append(info.key if isinstance(idx, int) or not idx.endswith(('.y', '.a1', '.a2', '.a3')) else idx)
        if not parsed:
            raise ValueError('out_indices must select at least one feature')
        return tuple(parsed)

    # ---------------------------------------------------------------------------------------------- forward
    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4:
            raise ValueError(f'ScaleNet expects an (N, C, H, W) tensor, got shape {tuple(x.shape)}')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'ScaleNet was built for {self.in_channels} input channels (in_channels='
                             f'{self.in_channels}) but got {x.shape[1]}; convert the images or set in_channels')
        h, w = x.shape[-2:]
        if h < self.min_input_size or w < self.min_input_size:
            raise ValueError(f'ScaleNet {self.arch_name} needs inputs of at least {self.min_input_size}x'
                             f'{self.min_input_size} (its coarsest map has stride {self.min_input_size}), got '
                             f'{h}x{w}; resize or pad the images')

    @property
    def arch_name(self) -> str:
        name = scalenet_name(self.arch)
        return f'{name} ({self.preset})' if self.preset else name

    @staticmethod
    def _level_of(idx: Union[int, str]) -> int:
        """The level an output index belongs to (``'stage2.a3'`` -> 2)."""
        return idx if isinstance(idx, int) else int(idx.split('.')[0][len('stage'):])

    def _run(self, module: nn.Module, *args):
        if self.with_cp and self.training and args[0].requires_grad:
            return cp.checkpoint(module, *args, use_reentrant=False,
                                 context_fn=lambda: (contextlib.nullcontext(), _keep_bn_statistics(module)))
        return module(*args)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        self._check_input(x)
        last_needed = max(self._level_of(idx) for idx in self.out_indices)  # stop early when possible
        feats = {}
        x1, x2, x3 = self.stem(x)
        feats[0] = x1
        for i in range(1, self.arch.stages + 1):
            if i > last_needed:
                break
            for block in getattr(self, f'stage{i}'):
                x1, x2, x3 = self._run(block, x1, x2, x3)
            feats[i] = x1
            for tap, value in zip(_TAPS[self.arch.blocks[i - 1]], (x1, x2, x3)):
                feats[f'stage{i}.{tap}'] = value
            if i < self.arch.stages:
                x1, x2, x3 = getattr(self, f'transition{i}')(x1, x2, x3)
        if last_needed == self.num_levels - 1:
            head = x1 if self.down_last is None else self._run(self.down_last, x1)
            feats[last_needed] = self.out_relu(self.out_norm(head))
        return tuple(feats[idx] for idx in self.out_indices)

    # ----------------------------------------------------------------------------------------- mm behaviour
    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        modules = [self.stem]
        for i in range(1, min(self.frozen_stages, self.arch.stages) + 1):
            modules.append(getattr(self, f'stage{i}'))
            if i < self.arch.stages:
                modules.append(getattr(self, f'transition{i}'))
            else:
                modules += [m for m in (self.down_last, self.out_norm) if m is not None]
        return modules

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def init_weights(self) -> None:
        super().init_weights()
        pretrained = isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained'
        if self.zero_init_residual and not pretrained:
            for i in range(1, self.arch.stages + 1):
                for block in getattr(self, f'stage{i}'):
                    constant_init(block.last_norm, 0)

    def train(self, mode: bool = True) -> 'ScaleNet':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def switch_to_deploy(self) -> Dict[str, int]:
        """Convert the backbone in place to its inference form (as mmpretrain's RepVGG does); inference only.

        The stem's ``conv -> BN -> ReLU`` and the last down-sampling conv followed by the output BN fold into
        single convs with a fused ReLU; every pre-activation ``BN -> ReLU`` becomes one affine + ReLU; phase
        deconvolutions precompute their kernels. Exact up to float rounding order. Returns
        ``{'bn_folded', 'bn_relu_fused'}``.
        """
        from scalenet_mm.deploy.bn_fusion import AffineReLU, has_running_stats

        from ..layers.phase_deconv import PhaseDeconv2d
        self.eval()
        report = dict(bn_folded=self.stem.switch_to_deploy(), bn_relu_fused=0)
        for i in range(1, self.arch.stages + 1):
            for block in getattr(self, f'stage{i}'):
                report['bn_relu_fused'] += len(block.norm_names) if block.switch_to_deploy() else 0
        for module in self.modules():
            if isinstance(module, PhaseDeconv2d):
                module.switch_to_deploy()
        folded = False
        if self.down_last is not None:
            converted, folded = self.down_last.switch_to_deploy(self.out_norm)
            report['bn_relu_fused'] += converted
        if folded:
            self.out_norm, self.out_relu = nn.Identity(), nn.Identity()
            report['bn_folded'] += 1
        elif has_running_stats(self.out_norm):
            self.out_norm, self.out_relu = AffineReLU(self.out_norm), nn.Identity()
            report['bn_relu_fused'] += 1
        return report

    @property
    def depth(self) -> int:
        """The paper's depth (module count of the reference model, dead modules included)."""
        return scalenet_depth(self.arch)
