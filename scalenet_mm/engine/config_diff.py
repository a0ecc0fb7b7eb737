"""The differences between two configs in what decides the trained weights (model, data, schedule).

A resumed run continues the checkpoint's optimizer, scheduler and data position; with a different model,
data set, batch size or schedule it would silently train something that is neither run. Loader settings that
do not change the data (workers, pinning, prefetching) and everything about logging, evaluation, checkpointing
and the environment are not compared.
"""
from typing import Any, Dict, Iterable, List, Tuple

from mmengine.config import Config

__all__ = ['RESULT_SECTIONS', 'LOADER_ONLY_KEYS', 'result_relevant_differences', 'format_differences']

#: top-level config keys that decide the training result
RESULT_SECTIONS = ('model', 'data_preprocessor', 'train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler',
                   'auto_scale_lr', 'randomness')
#: keys of ``train_dataloader`` that do not change which data is trained on
LOADER_ONLY_KEYS = ('num_workers', 'persistent_workers', 'pin_memory', 'pin_memory_device', 'prefetch_factor',
                    'timeout', 'multiprocessing_context', 'worker_init_fn')

_MISSING = '<absent>'


def _flatten(node: Any, prefix: str, out: Dict[str, Any]) -> None:
    if isinstance(node, dict):
        if not node:
            out[prefix] = {}
        for key, value in node.items():
            _flatten(value, f'{prefix}.{key}' if prefix else str(key), out)
    elif isinstance(node, (list, tuple)):
        if not node:
            out[prefix] = []
        for i, value in enumerate(node):
            _flatten(value, f'{prefix}.{i}', out)
    else:
        out[prefix] = node


def _result_view(cfg: Config) -> Dict[str, Any]:
    flat: Dict[str, Any] = {}
    for section in RESULT_SECTIONS:
        if section in cfg:
            _flatten(cfg[section].to_dict() if hasattr(cfg[section], 'to_dict') else cfg[section], section, flat)
    ignored = tuple(f'train_dataloader.{k}' for k in LOADER_ONLY_KEYS)
    return {k: v for k, v in flat.items() if not any(k == p or k.startswith(p + '.') for p in ignored)}


def _normalised(cfg_or_text) -> Config:
    text = cfg_or_text if isinstance(cfg_or_text, str) else cfg_or_text.pretty_text
    return Config.fromstring(text, file_format='.py')


def result_relevant_differences(before, after, allowed: Iterable[str] = ()) -> List[Tuple[str, Any, Any]]:
    """``(key, before, after)`` for every dotted key of :data:`RESULT_SECTIONS` whose value differs.

    ``before``/``after`` are configs or their ``pretty_text`` (what mmengine stores in ``meta['cfg']``); both
    are normalised through the same text round trip. Keys equal to or under an entry of ``allowed`` are
    ignored.
    """
    old, new = _result_view(_normalised(before)), _result_view(_normalised(after))
    allowed = tuple(allowed)
    diffs = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a != b and not any(key == p or key.startswith(p + '.') for p in allowed):
            diffs.append((key, a, b))
    return diffs


def format_differences(diffs: List[Tuple[str, Any, Any]]) -> str:
    return '\n'.join(f'  {key}: {a!r} (checkpoint) -> {b!r} (now)' for key, a, b in diffs)
