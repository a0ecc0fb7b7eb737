"""Training engine pieces: safe checkpoint loading and crash-safe, exactly resumable training.

Importing this package (``import scalenet_mm`` does) registers the ``'atomic_local'`` file backend, the hooks
``CrashSafeCheckpointHook``, ``ExactResumeHook`` and ``PreemptionHook``, the ``EpochSeededSampler`` /
``ResumableBatchSampler`` samplers, the ``SeededDataset`` wrapper, the crash-safe train loops and
``CrashSafeRunner``.
"""
from .atomic_backend import ATOMIC_BACKEND_ARGS, AtomicLocalBackend
from .atomic_io import atomic_write_bytes, atomic_write_text
from .checkpoint_hook import CrashSafeCheckpointHook
from .exact_data import EpochSeededSampler, ResumableBatchSampler, SeededDataset, SeededIndex
from .exact_loops import CrashSafeEpochBasedTrainLoop, CrashSafeIterBasedTrainLoop, CrashSafeRunner
from .exact_resume_hook import ExactResumeHook
from .preemption import PreemptionHook
from .resume import find_resumable_checkpoint, read_last_checkpoint, write_last_checkpoint

__all__ = [
    'ATOMIC_BACKEND_ARGS', 'AtomicLocalBackend', 'atomic_write_bytes', 'atomic_write_text', 'CrashSafeCheckpointHook',
    'EpochSeededSampler', 'ResumableBatchSampler', 'SeededDataset', 'SeededIndex', 'CrashSafeEpochBasedTrainLoop',
    'CrashSafeIterBasedTrainLoop', 'CrashSafeRunner', 'ExactResumeHook', 'PreemptionHook',
    'find_resumable_checkpoint', 'read_last_checkpoint', 'write_last_checkpoint'
]
