"""``PreemptionHook``: on SIGTERM, save a checkpoint at the next iteration boundary and exit.

Schedulers (SLURM, Kubernetes, spot-instance agents) send SIGTERM some seconds before they kill a job. The
signal only sets a flag; after the current training iteration the run writes a checkpoint of that iteration
through :class:`~scalenet_mm.engine.checkpoint_hook.CrashSafeCheckpointHook` (atomic, recorded in
``last_checkpoint``), and exits with ``exit_code`` (143, the status of a process ended by SIGTERM). In a
distributed run the ranks agree on the iteration (one all-reduce of the flag per iteration), save together and
wait for the writer before exiting. Dataloader workers of the crash-safe loops ignore a SIGTERM that does not come
from their main process (a scheduler signals the whole process group), so they cannot bring the run down before
the checkpoint is written.
"""
import logging
import signal
import threading
from typing import Dict, Sequence, Union

import torch
from mmengine.dist import all_reduce, barrier, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ..registry import register_hook
from .checkpoint_hook import CrashSafeCheckpointHook

__all__ = ['PreemptionHook']


@register_hook()
class PreemptionHook(Hook):
    """Turn SIGTERM (or the given signals) into "checkpoint after this iteration, then exit".

    Args:
        signals: signal names or numbers to handle.
        exit_code: the process's exit status after the checkpoint is written.
    """

    priority = 'LOWEST'  # after the regular checkpoint hook, so an iteration is never saved twice

    def __init__(self, signals: Sequence[Union[str, int]] = ('SIGTERM', ), exit_code: int = 143) -> None:
        self.signals = [getattr(signal, s) if isinstance(s, str) else signal.Signals(s) for s in signals]
        self.exit_code = exit_code
        self._requested = False
        self._previous: Dict = {}

    def _handle(self, signum, frame) -> None:
        self._requested = True  # nothing else here: the handler may interrupt logging or I/O

    def before_train(self, runner) -> None:
        if threading.current_thread() is not threading.main_thread():
            print_log('PreemptionHook: not in the main thread, signals cannot be handled', logger='current',
                      level=logging.WARNING)
            return
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._handle)

    def after_train(self, runner) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _stop_requested(self) -> bool:
        if get_world_size() == 1:
            return self._requested
        flag = torch.tensor([int(self._requested)], dtype=torch.int64)
        if torch.distributed.get_backend() == 'nccl':
            flag = flag.cuda()
        all_reduce(flag, op='max')
        return bool(flag.item())

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self._stop_requested():
            return
        checkpoint_hooks = [h for h in runner.hooks if isinstance(h, CrashSafeCheckpointHook)]
        if not checkpoint_hooks:
            raise RuntimeError('PreemptionHook needs default_hooks.checkpoint=dict(type="CrashSafeCheckpointHook")')
        print_log('termination requested: saving a checkpoint of this iteration, then exiting', logger='current',
                  level=logging.WARNING)
        path = checkpoint_hooks[0].save_preemption_checkpoint(runner)
        barrier()  # the writer has finished before any rank exits
        print_log(f'preempted: checkpoint of iteration {runner.iter + 1} written to {path}; resume with --resume',
                  logger='current', level=logging.WARNING)
        self.after_train(runner)
        raise SystemExit(self.exit_code)
