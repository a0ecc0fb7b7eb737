"""Training data whose augmentations depend on (seed, epoch, sample index) only, and that can start mid-epoch.

Pipeline transforms (RandomCrop, RandomFlip, RandomResizedCrop...) draw from the global ``random`` /
``np.random`` state of whichever process runs them: a dataloader worker, whose state depends on the number of
workers and on whether they persist across epochs, or the main process. A resumed run therefore trains on
different augmentations than the run it replaces. Here:

* :class:`EpochSeededSampler` is mmengine's ``DefaultSampler`` (same order) whose indices are
  :class:`SeededIndex` ints that also carry the sampler's seed and the epoch, so the epoch reaches persistent
  workers with each index;
* :class:`SeededDataset` wraps any dataset and runs ``dataset[i]`` with the global generators seeded from
  (seed, epoch, i), restoring the caller's states afterwards;
* :class:`ResumableBatchSampler` wraps the batch sampler (torch's, or e.g. mmdet's ``AspectRatioBatchSampler``)
  and can skip the first batches of an epoch without loading them, for mid-epoch resume.

:func:`exact_train_dataloader_cfg` rewrites a train dataloader config to use the three; the crash-safe train
loops apply it, so configs keep their ``train_dataloader.dataset.*`` keys.
"""
import copy
import logging
import os
import signal
import threading
from typing import Any, Dict, Iterator, List, Optional, Union

from mmengine.dataset import DefaultSampler
from mmengine.dataset import worker_init_fn as default_worker_init_fn
from mmengine.logging import print_log
from mmengine.registry import DATA_SAMPLERS, DATASETS
from torch.utils.data import BatchSampler, Dataset, Sampler

from ..registry import register_data_sampler, register_dataset
from .rng_state import sample_seed, seeded_rng

__all__ = ['SeededIndex', 'EpochSeededSampler', 'SeededDataset', 'ResumableBatchSampler',
           'crash_safe_worker_init', 'exact_train_dataloader_cfg', 'find_batch_sampler']

_DEFAULT_SAMPLERS = ('DefaultSampler', 'mmengine.DefaultSampler', 'EpochSeededSampler')


class SeededIndex(int):
    """A sample index that also carries the (seed, epoch) its augmentations are drawn from.

    An ``int`` subclass rather than a tuple, so batch samplers that look samples up by index (mmdet's
    ``AspectRatioBatchSampler`` calls ``dataset.get_data_info(idx)``) keep working unchanged.
    """

    def __new__(cls, index: int, seed: int, epoch: int) -> 'SeededIndex':
        obj = super().__new__(cls, index)
        obj.seed = int(seed)
        obj.epoch = int(epoch)
        return obj

    def __reduce__(self):  # sent to dataloader workers through a queue
        return SeededIndex, (int(self), self.seed, self.epoch)

    def __repr__(self) -> str:
        return f'SeededIndex({int(self)}, seed={self.seed}, epoch={self.epoch})'


@register_data_sampler()
class EpochSeededSampler(DefaultSampler):
    """``DefaultSampler`` (same order, same distributed split) yielding :class:`SeededIndex` values."""

    def __iter__(self) -> Iterator[SeededIndex]:
        seed, epoch = self.seed, self.epoch
        return (SeededIndex(i, seed, epoch) for i in super().__iter__())


@register_dataset()
class SeededDataset(Dataset):
    """Run the wrapped dataset's ``__getitem__`` with ``random``, ``np.random`` and torch seeded from
    (seed, epoch, index) when the index is a :class:`SeededIndex`; plain ``int`` indices (evaluation, browsing
    a data set) go straight through.

    Everything else (``metainfo``, ``full_init``, ``get_data_info``, ``indices``-subsetting done by the inner
    dataset, lazy initialisation...) is the inner dataset's: attributes are looked up there.

    Args:
        dataset: the dataset, or its config.
    """

    def __init__(self, dataset: Union[Dataset, Dict]) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(getattr(self.dataset, 'metainfo', {}))

    def full_init(self) -> None:
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(int(idx))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx):
        if isinstance(idx, SeededIndex):
            with seeded_rng(sample_seed(idx.seed, idx.epoch, int(idx))):
                return self.dataset[int(idx)]
        return self.dataset[idx]

    def __getattr__(self, name: str) -> Any:
        if name == 'dataset':  # not set yet (e.g. during unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __repr__(self) -> str:
        return f'SeededDataset({self.dataset!r})'


@register_data_sampler()
class ResumableBatchSampler(Sampler):
    """A batch sampler that can skip the first ``n`` batches of its next pass without loading them.

    Args:
        sampler: the index sampler (built by the Runner).
        batch_size: samples per batch.
        batch_sampler: config of the batch sampler to wrap (e.g. ``dict(type='AspectRatioBatchSampler')``);
            None: torch's ``BatchSampler``.
        drop_last: for torch's ``BatchSampler`` (the dataloader's ``drop_last``).
    """

    def __init__(self, sampler: Sampler, batch_size: int, batch_sampler: Optional[Dict] = None,
                 drop_last: bool = False) -> None:
        if batch_sampler is None:
            self.batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        else:
            self.batch_sampler = DATA_SAMPLERS.build(batch_sampler,
                                                     default_args=dict(sampler=sampler, batch_size=batch_size))
        self.sampler = sampler  # what DistSamplerSeedHook calls set_epoch on
        self.batch_size = batch_size
        self._skip = 0

    def skip_next(self, num_batches: int) -> None:
        """Make the next pass start at batch ``num_batches`` (later passes start at 0 again)."""
        if num_batches < 0:
            raise ValueError(f'cannot skip a negative number of batches ({num_batches})')
        self._skip = int(num_batches)

    def __iter__(self) -> Iterator[List[int]]:
        skip, self._skip = self._skip, 0
        for position, batch in enumerate(self.batch_sampler):
            if position >= skip:
                yield batch

    def __len__(self) -> int:
        return len(self.batch_sampler)


def find_batch_sampler(dataloader) -> Optional[ResumableBatchSampler]:
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    return batch_sampler if isinstance(batch_sampler, ResumableBatchSampler) else None


def _type_name(cfg: Optional[Dict]) -> Optional[str]:
    if cfg is None:
        return None
    kind = cfg.get('type')
    return kind if isinstance(kind, str) else getattr(kind, '__name__', str(kind))


def _exit_on_sigterm_from_parent(parent: int) -> None:
    while True:
        info = signal.sigwaitinfo({signal.SIGTERM})
        if info.si_pid == parent:  # the main process shutting its workers down
            os._exit(0)
        # anyone else (a scheduler signalling the process group): the main process decides when to stop


def crash_safe_worker_init(worker_id: int, num_workers: int, rank: int, seed: Optional[int]) -> None:
    """Dataloader worker start-up: SIGTERM only ends the worker when its main process sends it (shutdown), not
    when a scheduler signals the whole process group (the main process then checkpoints and stops, and the
    workers exit with it); then mmengine's per-worker seeding."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # delivered to the waiting thread only
    threading.Thread(target=_exit_on_sigterm_from_parent, args=(os.getppid(), ), daemon=True).start()
    if seed is not None:
        default_worker_init_fn(worker_id, num_workers, rank, seed)


def exact_train_dataloader_cfg(dataloader: Dict, seed: Optional[int] = None, rank: int = 0) -> Dict:
    """The train dataloader config with :class:`SeededDataset`, :class:`EpochSeededSampler` and
    :class:`ResumableBatchSampler` around what it names, and :func:`crash_safe_worker_init` unless it names a
    ``worker_init_fn`` (a copy; applied once). ``seed``/``rank`` are the Runner's, for the worker seeding.

    Samplers other than ``DefaultSampler`` (their order is not a function of (seed, epoch)) are left alone with
    a warning: the run trains as configured, without the exact-resume guarantee.
    """
    cfg = copy.deepcopy(dict(dataloader))
    sampler = cfg.get('sampler')
    if not isinstance(sampler, dict) or _type_name(sampler) not in _DEFAULT_SAMPLERS:
        print_log(f'exact resume needs train_dataloader.sampler=DefaultSampler, got {_type_name(sampler)!r}: '
                  'augmentations and resumed runs are not reproducible with it', logger='current',
                  level=logging.WARNING)
        return cfg
    cfg['sampler'] = dict(sampler, type='EpochSeededSampler')
    dataset = cfg['dataset']
    if not (isinstance(dataset, dict) and _type_name(dataset) == 'SeededDataset'):
        cfg['dataset'] = dict(type='SeededDataset', dataset=dataset)
    inner = cfg.pop('batch_sampler', None)
    if not (isinstance(inner, dict) and _type_name(inner) == 'ResumableBatchSampler'):
        inner = dict(type='ResumableBatchSampler', batch_sampler=inner, drop_last=cfg.pop('drop_last', False))
    cfg['batch_sampler'] = inner
    cfg.setdefault('worker_init_fn', dict(type=crash_safe_worker_init, num_workers=cfg.get('num_workers', 0),
                                          rank=rank, seed=seed))
    return cfg
