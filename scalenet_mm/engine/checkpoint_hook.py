"""``CrashSafeCheckpointHook``: mmengine's ``CheckpointHook`` where no crash costs more than the work since the
last checkpoint.

Differences from the stock hook (same arguments, same file names):

* every checkpoint, regular and best, is written atomically (``backend_args`` defaults to the
  ``'atomic_local'`` backend), and so is ``last_checkpoint``, which holds a path relative to the work dir;
* an outdated checkpoint (``max_keep_ckpts``) or the previous best one is deleted only *after* its successor is
  on disk; the stock hook deletes first, so a kill during the next write left no checkpoint at all;
* ``resume=True`` without a path resumes from the newest checkpoint of the checkpoint directory that loads
  (:func:`~scalenet_mm.engine.resume.find_resumable_checkpoint`), and paths recorded by a run in another
  location (a copied or moved work dir) are mapped into this one, so the copy never reads or deletes the
  original's files;
* hooks with a ``gather_checkpoint_state(runner)`` method are called on every rank right before a checkpoint is
  written (``before_save_checkpoint`` runs on the writing rank only), which lets
  :class:`~scalenet_mm.engine.exact_resume_hook.ExactResumeHook` collect the random states of all ranks;
* :meth:`save_preemption_checkpoint` writes an iteration checkpoint mid-epoch (used on SIGTERM), which the next
  regular checkpoint supersedes and deletes.
"""
import os.path as osp
from typing import Dict, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.runner import BaseLoop, EpochBasedTrainLoop

from ..registry import register_hook
from .atomic_backend import ATOMIC_BACKEND_ARGS
from .atomic_io import remove_stale_temp_files
from .resume import find_resumable_checkpoint, write_last_checkpoint

__all__ = ['CrashSafeCheckpointHook']

_ITER_TEMPLATE = 'iter_{}.pth'
_PREEMPTION_KEY = 'preemption_ckpts'


class _DeferredRemoval:
    """A file backend whose ``remove``/``rmtree`` are recorded and run later, by :meth:`apply`."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self._pending: List = []

    def remove(self, path) -> None:
        self._pending.append((self._backend.remove, path))

    def rmtree(self, path) -> None:
        self._pending.append((self._backend.rmtree, path))

    def apply(self) -> None:
        for remove, path in self._pending:
            if self._backend.exists(path):
                remove(path)
        self._pending.clear()

    def __getattr__(self, name):
        return getattr(self._backend, name)


@register_hook()
class CrashSafeCheckpointHook(CheckpointHook):
    """mmengine ``CheckpointHook`` with atomic writes, safe deletion order and resume fallback (module doc)."""

    def __init__(self, *args, backend_args: Optional[Dict] = None, file_client_args: Optional[Dict] = None,
                 **kwargs) -> None:
        if backend_args is None and file_client_args is None:
            backend_args = dict(ATOMIC_BACKEND_ARGS)
        super().__init__(*args, backend_args=backend_args, file_client_args=file_client_args, **kwargs)

    # -- resume -----------------------------------------------------------------------------------------------
    def _checkpoint_dir(self, runner) -> str:
        """Where the checkpoints go, before ``before_train`` has resolved ``out_dir`` (same rule)."""
        if self.out_dir is None or self.out_dir == runner.work_dir:
            return runner.work_dir
        return osp.join(self.out_dir, osp.basename(runner.work_dir.rstrip(osp.sep)))

    def _templates(self):
        if self.by_epoch:
            return self.filename_tmpl, _ITER_TEMPLATE
        return None, self.filename_tmpl

    def before_run(self, runner) -> None:
        checkpoint_dir = self._checkpoint_dir(runner)
        if is_main_process() and osp.isdir(checkpoint_dir):
            for tmp in remove_stale_temp_files(checkpoint_dir):
                print_log(f'Removed {tmp}, left by a checkpoint write that was interrupted', logger='current')
        if not (getattr(runner, '_resume', False) and getattr(runner, '_load_from', None) is None):
            return
        train_loop = getattr(runner, '_train_loop', None)
        iters_per_epoch = None
        if isinstance(train_loop, EpochBasedTrainLoop):
            iters_per_epoch = len(train_loop.dataloader)
        elif not isinstance(train_loop, BaseLoop):
            return  # not training
        epoch_template, iter_template = self._templates()
        chosen = find_resumable_checkpoint(runner.work_dir, checkpoint_dir, epoch_template, iter_template,
                                           iters_per_epoch)
        if chosen is not None:
            runner._load_from = chosen  # Runner.load_or_resume resumes from it

    def _local_path(self, path: Optional[str]) -> Optional[str]:
        """A checkpoint path recorded by a run in another directory, mapped into this run's ``out_dir``."""
        if not path or osp.dirname(osp.abspath(path)) == osp.abspath(self.out_dir):
            return path
        return self.file_backend.join_path(self.out_dir, osp.basename(path))

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.save_best is None:
            return
        if len(self.key_indicators) == 1:
            self.best_ckpt_path = self._local_path(self.best_ckpt_path)
            if self.best_ckpt_path:
                runner.message_hub.update_info('best_ckpt', self.best_ckpt_path)
        else:
            for key, path in self.best_ckpt_path_dict.items():
                self.best_ckpt_path_dict[key] = self._local_path(path)
                if path:
                    runner.message_hub.update_info(f'best_ckpt_{key}', self.best_ckpt_path_dict[key])

    # -- writing ----------------------------------------------------------------------------------------------
    def _remove_checkpoint(self, path: str) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)

    def _write(self, runner, filename: str, meta: Dict, by_epoch: bool) -> str:
        """Gather the other hooks' state on every rank, then write ``filename`` (writer rank only)."""
        for hook in runner.hooks:
            gather = getattr(hook, 'gather_checkpoint_state', None)
            if callable(gather):
                gather(runner)
        path = self.file_backend.join_path(self.out_dir, filename)
        self.last_ckpt = path
        runner.message_hub.update_info('last_ckpt', path)
        runner.save_checkpoint(self.out_dir, filename, self.file_client_args, save_optimizer=self.save_optimizer,
                               save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=by_epoch,
                               backend_args=self.backend_args, **self.args)
        if is_main_process():
            write_last_checkpoint(runner.work_dir, path)
        return path

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        superseded = list(runner.message_hub.get_info(_PREEMPTION_KEY, []) or [])
        if superseded:
            runner.message_hub.update_info(_PREEMPTION_KEY, [])
        filename = self.filename_tmpl.format(step)
        self._write(runner, filename, meta, self.by_epoch)
        if not is_main_process():
            return
        # only now that the new checkpoint is on disk may the ones it replaces go
        if outdated is not None and outdated != step:
            self._remove_checkpoint(self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(outdated)))
        for name in superseded:
            if name != filename:
                self._remove_checkpoint(self.file_backend.join_path(self.out_dir, name))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        backend = self.file_backend
        deferred = _DeferredRemoval(backend)
        self.file_backend = deferred  # the stock method deletes the previous best before writing the new one
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        deferred.apply()

    def save_preemption_checkpoint(self, runner) -> str:
        """Write a checkpoint of the current iteration (call from ``after_train_iter``, on every rank).

        With an epoch-based hook it is an extra ``iter_<n>.pth``, not counted in ``max_keep_ckpts`` and deleted
        once the next regular checkpoint is written; with an iteration-based hook it is a regular one.
        """
        step = runner.iter + 1
        meta = dict(epoch=runner.epoch, iter=step)
        if not self.by_epoch:
            self._save_checkpoint_with_step(runner, step, meta)
            return self.last_ckpt
        filename = _ITER_TEMPLATE.format(step)
        pending = list(runner.message_hub.get_info(_PREEMPTION_KEY, []) or [])
        if filename not in pending:
            runner.message_hub.update_info(_PREEMPTION_KEY, pending + [filename])
        return self._write(runner, filename, meta, by_epoch=False)
