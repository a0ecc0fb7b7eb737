"""Safe resuming of mmengine checkpoints under torch >= 2.6 (``torch.load(weights_only=True)`` by default).

mmengine 0.10.7 writes checkpoints that the weights-only unpickler rejects:

* ``message_hub`` holds :class:`mmengine.logging.HistoryBuffer` objects, whose ``__getstate__`` also pickles
  the class's statistics *functions*. Pickle stores those as ``builtins.getattr(HistoryBuffer, 'mean')``;
  allow-listing ``getattr`` would let any checkpoint reach arbitrary attributes (code execution), so instead
  :func:`make_history_buffer_plain` makes a HistoryBuffer pickle as plain data (its two histories as lists of
  numbers and its ``max_length``). Checkpoints written after ``import scalenet_mm`` therefore contain only the
  HistoryBuffer class itself, containers, numbers, strings and tensors.
* numpy scalars/arrays/dtypes appear in logged values and runtime info.
* ``OneCycleParamScheduler.state_dict()`` holds its bound annealing method (``anneal_func``), pickled as
  ``getattr(scheduler, '_annealing_cos')``: :func:`make_one_cycle_plain` stores the method's *name* instead and
  re-binds it on load (only the two annealing methods mmengine defines are accepted).

:func:`register_safe_globals` allow-lists exactly these types with ``torch.serialization.add_safe_globals``.
It does not switch weights-only loading off and does not patch ``torch.load``: a checkpoint carrying any other
pickled object is still refused by torch, with its message naming the offending global.

Checkpoints written by plain mmengine (before this fix) contain the ``getattr`` references and are refused.
If you trust such a file, convert it once, explicitly: ``python tools/upgrade_checkpoint.py --trust SRC DST``
(:func:`upgrade_legacy_checkpoint`), which loads it with full unpickling and writes a plain-data copy.
"""
from typing import Any, Dict, List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler

__all__ = ['SAFE_GLOBALS', 'register_safe_globals', 'make_history_buffer_plain', 'make_one_cycle_plain',
           'upgrade_legacy_checkpoint']

_ANNEALING_METHODS = ('_annealing_cos', '_annealing_linear')


def _history_buffer_getstate(self: HistoryBuffer) -> Dict[str, Any]:
    return dict(max_length=int(self.max_length), log_history=np.asarray(self._log_history).tolist(),
                count_history=np.asarray(self._count_history).tolist())


def _history_buffer_setstate(self: HistoryBuffer, state: Dict[str, Any]) -> None:
    if 'log_history' in state:  # plain-data form written by _history_buffer_getstate
        self.__init__(state['log_history'], state['count_history'], state['max_length'])
        return
    # mmengine's own form (only reachable through an explicitly trusted, full unpickle)
    state = dict(state)
    state.pop('statistics_methods', None)
    self._set_default_statistics()
    self.__dict__.update(state)


def make_history_buffer_plain() -> None:
    """Make :class:`HistoryBuffer` pickle as plain data (no function references)."""
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    HistoryBuffer.__setstate__ = _history_buffer_setstate


def _one_cycle_state_dict(self: OneCycleParamScheduler) -> Dict[str, Any]:
    state = _ONE_CYCLE_STATE_DICT(self)
    func = state.get('anneal_func')
    if callable(func):
        state['anneal_func'] = func.__name__
    return state


def _one_cycle_load_state_dict(self: OneCycleParamScheduler, state_dict: Dict[str, Any]) -> None:
    state = dict(state_dict)
    name = state.get('anneal_func')
    if isinstance(name, str):
        if name not in _ANNEALING_METHODS:
            raise ValueError(f'OneCycleParamScheduler state names annealing method {name!r}; '
                             f'expected one of {_ANNEALING_METHODS}')
        state['anneal_func'] = getattr(self, name)
    _ONE_CYCLE_LOAD_STATE_DICT(self, state)


_ONE_CYCLE_STATE_DICT = OneCycleParamScheduler.state_dict
_ONE_CYCLE_LOAD_STATE_DICT = OneCycleParamScheduler.load_state_dict


def make_one_cycle_plain() -> None:
    """Make the one-cycle scheduler's state plain data (its annealing method stored by name)."""
    OneCycleParamScheduler.state_dict = _one_cycle_state_dict
    OneCycleParamScheduler.load_state_dict = _one_cycle_load_state_dict


def _numpy_globals() -> List[Any]:
    dtypes = [type(np.dtype(t)) for t in ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32',
                                           'uint64', 'float16', 'float32', 'float64')]
    multiarray = np.core.multiarray if hasattr(np, 'core') else np._core.multiarray
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype] + dtypes


#: Everything an mmengine/mmpretrain/mmdet training checkpoint needs beyond torch's defaults.
SAFE_GLOBALS: List[Any] = [HistoryBuffer] + _numpy_globals()


def register_safe_globals() -> None:
    """Allow-list :data:`SAFE_GLOBALS` for weights-only loading and make HistoryBuffer pickle as plain data."""
    make_history_buffer_plain()
    make_one_cycle_plain()
    torch.serialization.add_safe_globals(SAFE_GLOBALS)


def upgrade_legacy_checkpoint(src: str, dst: str, trust: bool = False) -> List[str]:
    """Rewrite a *trusted* legacy mmengine checkpoint as plain data that loads with weights-only unpickling.

    Full unpickling can execute code embedded in the file, hence the explicit ``trust=True``. Returns the
    globals of the source file that weights-only loading would have refused.
    """
    if not trust:
        raise PermissionError(f'{src}: loading a legacy checkpoint runs full unpickling, which can execute code '
                              'stored in the file. Only do this for files you trust, with trust=True '
                              '(tools/upgrade_checkpoint.py --trust).')
    register_safe_globals()
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(src)
    checkpoint = torch.load(src, map_location='cpu', weights_only=False)
    torch.save(checkpoint, dst)
    torch.load(dst, map_location='cpu', weights_only=True)  # proves the copy is plain data
    return unsafe
