"""Convert the authors' ScaleNet checkpoints (key layout of spec §14) to mmpretrain ``ImageClassifier`` weights.

Key mapping (``i`` stage, ``j`` block, ``n`` = number of blocks of the stage)::

    pyramid.branch{k}.0 / .1 (ImageNet conv / BN)      -> backbone.stem.branch{k}.conv / .bn
    pyramid.branch{k}[.0].weight (CIFAR conv)          -> backbone.stem.branch{k}.conv.weight
    stage{i}.{j}.{bn1,conv1,...,deconv4}               -> backbone.stage{i}.{j}.<same>
    stage{i}.{n-1}.comp_res4 / comp_res3 / comp_res2   -> backbone.transition{i}.fuse1 / fuse2 / fuse3  (after D)
    stage{i}.{n-1}.comp_res2 / comp_res1               -> backbone.transition{i}.fuse1 / fuse2          (after S)
    stage{i}.{n-1}.down_res4x.downsize.0 | down_res2x.downsize -> backbone.transition{i}.strided_path.conv
    stage{S}.{n-1}.down_last4 | down_last2             -> backbone.down_last
    summary.classifier1.0 (BN) / .4 (Linear)           -> backbone.out_norm / head.fc

Keys of modules that never influence the logits (the D->S dead path of spec §7.4, stem branches no block
reads) have no counterpart here: they are dropped and reported. Any other key without a counterpart, a shape
mismatch, or a missing key is an error that names the key.
"""
import pickle
import re
from typing import Dict, List, Optional, Tuple, Union

import torch

from ..backbones.scalenet import ScaleNet

__all__ = ['OriginalKeyError', 'original_key_to_ours', 'convert_original_state_dict', 'load_original_checkpoint']


class OriginalKeyError(KeyError):
    """A key or shape of the source checkpoint does not fit the chosen architecture."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


_TRANSITION_PARTS = {
    'D': {'comp_res4': 'fuse1', 'comp_res3': 'fuse2', 'comp_res2': 'fuse3', 'down_res4x.downsize.0':
          'strided_path.conv'},
    'S': {'comp_res2': 'fuse1', 'comp_res1': 'fuse2', 'down_res2x.downsize': 'strided_path.conv'},
}
_BLOCK_RE = re.compile(r'^stage(\d+)\.(\d+)\.(.+)$')
_TRANSITION_RE = re.compile(r'^(comp_res\d|down_res4x\.downsize\.0|down_res2x\.downsize|down_last[24])\.(.+)$')


def original_key_to_ours(key: str, model: ScaleNet) -> str:
    """Map one key of the authors' layout to the ``ImageClassifier`` key (``backbone.*`` / ``head.fc.*``)."""
    arch = model.arch
    m = re.match(r'^pyramid\.branch([123])\.(.+)$', key)
    if m:
        k, rest = m.groups()
        if model.stem_type == 'imagenet':
            rest = re.sub(r'^0\.', 'conv.', rest)
            rest = re.sub(r'^1\.', 'bn.', rest)
        else:
            rest = 'conv.' + re.sub(r'^0\.', '', rest)
        return f'backbone.stem.branch{k}.{rest}'
    m = re.match(r'^summary\.classifier1\.([04])\.(.+)$', key)
    if m:
        idx, rest = m.groups()
        return f'backbone.out_norm.{rest}' if idx == '0' else f'head.fc.{rest}'
    m = _BLOCK_RE.match(key)
    if not m:
        raise OriginalKeyError(f"key '{key}' is not part of the ScaleNet checkpoint layout")
    stage, block, rest = int(m.group(1)), int(m.group(2)), m.group(3)
    if not 1 <= stage <= arch.stages or block >= arch.layers[stage - 1]:
        raise OriginalKeyError(f"key '{key}': stage {stage} block {block} does not exist in {model.arch_name} "
                               f'(layers={arch.layers}); is --arch right?')
    t = _TRANSITION_RE.match(rest)
    if not t:
        return f'backbone.stage{stage}.{block}.{rest}'
    part, param = t.groups()
    if block != arch.layers[stage - 1] - 1:
        raise OriginalKeyError(f"key '{key}': a transition key on a block that is not the last of its stage "
                               f'in {model.arch_name} (layers={arch.layers}); is --arch right?')
    if part.startswith('down_last'):
        return f'backbone.down_last.{param}'
    parts = _TRANSITION_PARTS[arch.blocks[stage - 1]]
    if part not in parts or stage == arch.stages:
        raise OriginalKeyError(f"key '{key}': no transition part '{part}' after stage {stage} in "
                               f'{model.arch_name}; is --arch right?')
    return f'backbone.transition{stage}.{parts[part]}.{param}'


def _is_unbuilt_dead_module(our_key: str, model: ScaleNet) -> bool:
    """Whether ``our_key`` belongs to a module this package deliberately does not build (never-used outputs)."""
    m = re.match(r'^backbone\.(stem\.branch[23]|transition\d+\.(fuse[23]|strided_path))\.', our_key)
    if not m:
        return False
    module_path = m.group(1)
    try:
        model.get_submodule(module_path)
        return False
    except AttributeError:
        return True


def _strip_wrappers(checkpoint: dict) -> Dict[str, torch.Tensor]:
    for field in ('state_dict', 'model'):
        if isinstance(checkpoint, dict) and field in checkpoint and isinstance(checkpoint[field], dict):
            checkpoint = checkpoint[field]
            break
    if not isinstance(checkpoint, dict) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise OriginalKeyError('expected a state_dict (or a dict holding one under "state_dict" or "model")')
    if all(k.startswith('module.') for k in checkpoint):
        checkpoint = {k[len('module.'):]: v for k, v in checkpoint.items()}
    return checkpoint


def convert_original_state_dict(state_dict: dict,
                                arch: Union[str, dict],
                                stem_type: Optional[str] = None,
                                num_classes: Optional[int] = None,
                                **backbone_kwargs) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Convert an authors' state dict; returns ``(ImageClassifier state dict, dropped dead keys)``.

    ``state_dict`` may be wrapped in ``{'state_dict'|'model': ...}`` and prefixed by ``module.`` (DataParallel).
    """
    source = _strip_wrappers(state_dict)
    model = ScaleNet(arch, stem_type=stem_type, **backbone_kwargs)
    expected = {f'backbone.{k}': v.shape for k, v in model.state_dict().items()}
    fc = source.get('summary.classifier1.4.weight')
    if fc is not None:
        if num_classes is not None and fc.shape[0] != num_classes:
            raise OriginalKeyError(f"key 'summary.classifier1.4.weight' has {fc.shape[0]} classes, expected "
                                   f'num_classes={num_classes}')
        expected['head.fc.weight'] = torch.Size([fc.shape[0], model.arch.out_channels])
        expected['head.fc.bias'] = torch.Size([fc.shape[0]])
    converted, dropped = {}, []
    for key, value in source.items():
        ours = original_key_to_ours(key, model)
        if ours not in expected:
            if _is_unbuilt_dead_module(ours, model):
                dropped.append(key)
                continue
            raise OriginalKeyError(f"key '{key}' (-> '{ours}') has no counterpart in {model.arch_name}; is --arch "
                                   'right?')
        if tuple(value.shape) != tuple(expected[ours]):
            raise OriginalKeyError(f"key '{key}' has shape {tuple(value.shape)} but {model.arch_name} expects "
                                   f"{tuple(expected[ours])} for '{ours}'; is --arch right?")
        converted[ours] = value.clone()
    missing = [k for k in expected if k not in converted]
    if missing:
        raise OriginalKeyError(f"the checkpoint has no weights for '{missing[0]}' ({len(missing)} missing keys in "
                               f'all); is --arch right?')
    return converted, dropped


class _OpaqueObject:
    """Inert stand-in for any non-tensor object pickled in an authors' checkpoint (e.g. their config class).

    It is never executed: it only keeps what the unpickler hands it, so loading needs no trust in the file.
    """

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        obj.args = args
        return obj

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        self.state = state


def load_original_checkpoint(path: str) -> dict:
    """Load an authors' ``.pth``/``.ckpt`` with weights-only unpickling.

    Globals torch does not allow (their pickled config classes, say) are replaced by :class:`_OpaqueObject`,
    so no code from the file runs and the tensors come back intact. Works for zip and legacy files.
    """
    stand_ins: List[Tuple[type, str]] = []
    while True:
        try:
            with torch.serialization.safe_globals(stand_ins):
                return torch.load(path, map_location='cpu', weights_only=True)
        except pickle.UnpicklingError as error:
            found = re.search(r'Unsupported global: GLOBAL ([\w.]+)', str(error))
            if not found or len(stand_ins) >= 1000:
                raise
            name = found.group(1)
            stand_ins.append((_OpaqueObject, name if '.' in name else f'builtins.{name}'))
