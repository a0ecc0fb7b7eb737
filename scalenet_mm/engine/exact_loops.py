"""Train loops that resume at the exact batch, and the Runner that installs them from a plain config.

mmengine's loops restart data at the wrong place after a mid-epoch checkpoint: ``EpochBasedTrainLoop``
replays the interrupted epoch from its first batch (so the run trains on more batches than the one it
replaces), and ``IterBasedTrainLoop`` reaches its position by loading and discarding every batch since the
start. These loops skip the batches already trained on at the batch-sampler level (no image is loaded) and
build their dataloader with :func:`~scalenet_mm.engine.exact_data.exact_train_dataloader_cfg` (per-sample
seeding, epoch-carrying indices).

:class:`CrashSafeRunner` (``runner_type='CrashSafeRunner'``) swaps mmengine's two train loops for these, so the
configs' ``train_cfg`` (``by_epoch=True`` or ``type='EpochBasedTrainLoop'``) needs no change. Train loops of
other types are kept, with a warning.
"""
import copy
import logging
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from mmengine.dist import get_rank
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, Runner
from torch.utils.data import DataLoader

from ..registry import register_loop
from .exact_data import exact_train_dataloader_cfg, find_batch_sampler

__all__ = ['CrashSafeEpochBasedTrainLoop', 'CrashSafeIterBasedTrainLoop', 'CrashSafeRunner']


def _prepare(runner, dataloader: Union[DataLoader, Dict]) -> Union[DataLoader, Dict]:
    if isinstance(dataloader, dict):
        return exact_train_dataloader_cfg(dataloader, seed=runner.seed, rank=get_rank())
    print_log('a crash-safe train loop got a built DataLoader: its augmentations are not seeded per sample',
              logger='current', level=logging.WARNING)
    return dataloader


def _set_epoch(dataloader: DataLoader, epoch: int) -> None:
    sampler = getattr(getattr(dataloader, 'batch_sampler', None), 'sampler', None)
    for candidate in (getattr(dataloader, 'sampler', None), sampler):
        if hasattr(candidate, 'set_epoch'):
            candidate.set_epoch(epoch)
            return


@register_loop()
class CrashSafeEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` that continues an interrupted epoch at the batch after the last one trained."""

    def __init__(self, runner, dataloader: Union[DataLoader, Dict], max_epochs: int, val_begin: int = 1,
                 val_interval: int = 1, dynamic_intervals: Optional[List[Tuple[int, int]]] = None) -> None:
        super().__init__(runner, _prepare(runner, dataloader), max_epochs, val_begin, val_interval, dynamic_intervals)

    def _batches_done_in_epoch(self) -> int:
        done = self._iter - self._epoch * len(self.dataloader)
        if not 0 <= done <= len(self.dataloader):
            raise RuntimeError(
                f'resumed at iteration {self._iter} of epoch {self._epoch}, which has {len(self.dataloader)} '
                'batches now: the data set, batch size or number of processes differ from the checkpoint\'s run')
        return done

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        start = self._batches_done_in_epoch()
        if start:
            batch_sampler = find_batch_sampler(self.dataloader)
            if batch_sampler is None:
                raise RuntimeError('cannot resume mid-epoch: the train dataloader has no ResumableBatchSampler')
            print_log(f'Resuming epoch {self._epoch + 1} at batch {start + 1}/{len(self.dataloader)} '
                      f'(skipping {start} batches without loading them)', logger='current')
            batch_sampler.skip_next(start)
        for idx, data_batch in enumerate(self.dataloader, start):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1


class _ResumableInfiniteIterator:
    """Endless batches from a dataloader, starting at any (epoch, batch) without loading what comes before."""

    def __init__(self, dataloader: DataLoader, start_iter: int) -> None:
        self._dataloader = dataloader
        self._epoch, skip = divmod(start_iter, len(dataloader))
        _set_epoch(dataloader, self._epoch)
        if skip:
            batch_sampler = find_batch_sampler(dataloader)
            if batch_sampler is None:
                raise RuntimeError('cannot resume mid-epoch: the train dataloader has no ResumableBatchSampler')
            batch_sampler.skip_next(skip)
        self._iterator = iter(dataloader)

    def __iter__(self) -> Iterator[Sequence[dict]]:
        return self

    def __next__(self) -> Sequence[dict]:
        try:
            return next(self._iterator)
        except StopIteration:
            self._epoch += 1
            _set_epoch(self._dataloader, self._epoch)
            self._iterator = iter(self._dataloader)
            return next(self._iterator)


@register_loop()
class CrashSafeIterBasedTrainLoop(IterBasedTrainLoop):
    """``IterBasedTrainLoop`` that starts its data at the resumed iteration directly (pass ``p`` of the data is
    epoch ``p`` for the sampler), instead of loading every batch before it."""

    def __init__(self, runner, dataloader: Union[DataLoader, Dict], max_iters: int, val_begin: int = 1,
                 val_interval: int = 1000, dynamic_intervals: Optional[List[Tuple[int, int]]] = None) -> None:
        super().__init__(runner, _prepare(runner, dataloader), max_iters, val_begin, val_interval, dynamic_intervals)
        # mmengine's iterator was created (and started its workers) in the parent's __init__; ours is made in
        # run(), once the resumed position is known
        self.dataloader_iterator = None

    def run(self) -> None:
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        if self._iter > 0:
            print_log(f'Resuming at iteration {self._iter + 1} without loading the batches before it',
                      logger='current')
        self.dataloader_iterator = _ResumableInfiniteIterator(self.dataloader, self._iter)
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            self.run_iter(next(self.dataloader_iterator))
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model


_LOOP_REPLACEMENTS = {
    'EpochBasedTrainLoop': CrashSafeEpochBasedTrainLoop,
    'mmengine.EpochBasedTrainLoop': CrashSafeEpochBasedTrainLoop,
    EpochBasedTrainLoop: CrashSafeEpochBasedTrainLoop,
    'IterBasedTrainLoop': CrashSafeIterBasedTrainLoop,
    'mmengine.IterBasedTrainLoop': CrashSafeIterBasedTrainLoop,
    IterBasedTrainLoop: CrashSafeIterBasedTrainLoop,
}
_OURS = ('CrashSafeEpochBasedTrainLoop', 'CrashSafeIterBasedTrainLoop', CrashSafeEpochBasedTrainLoop,
         CrashSafeIterBasedTrainLoop)


def crash_safe_loop_cfg(loop: Dict) -> Dict:
    """``train_cfg`` with mmengine's train loops replaced by the crash-safe ones (a copy)."""
    cfg = copy.deepcopy(dict(loop))
    if 'type' not in cfg:
        by_epoch = cfg.pop('by_epoch', True)
        cfg['type'] = CrashSafeEpochBasedTrainLoop if by_epoch else CrashSafeIterBasedTrainLoop
    elif cfg['type'] in _LOOP_REPLACEMENTS:
        cfg['type'] = _LOOP_REPLACEMENTS[cfg['type']]
    elif cfg['type'] not in _OURS:
        print_log(f'CrashSafeRunner keeps the train loop {cfg["type"]!r}: resumed runs restart its data at the '
                  'start of the interrupted epoch and are not reproducible', logger='current', level=logging.WARNING)
    if cfg['type'] in _OURS:
        cfg.pop('by_epoch', None)
    return cfg


@RUNNERS.register_module()
class CrashSafeRunner(Runner):
    """mmengine ``Runner`` training with the crash-safe loops (see the module docstring); otherwise unchanged.

    Use it with ``runner_type='CrashSafeRunner'``; every ``tools/train.py`` of OpenMMLab builds the runner
    through ``RUNNERS`` when a config names one.
    """

    def build_train_loop(self, loop):
        if isinstance(loop, dict):
            loop = crash_safe_loop_cfg(loop)
        return super().build_train_loop(loop)
