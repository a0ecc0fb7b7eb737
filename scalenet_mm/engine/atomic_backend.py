"""``'atomic_local'``: mmengine's local file backend whose writes are atomic and durable.

mmengine's ``save_checkpoint`` serialises a checkpoint to bytes and hands them to ``backend.put``; the stock
local backend writes them straight into the destination, so a kill during the write leaves a truncated file
under the checkpoint's name. Naming this backend in ``CheckpointHook(backend_args=dict(backend='atomic_local'))``
(:class:`~scalenet_mm.engine.checkpoint_hook.CrashSafeCheckpointHook` does it by default) routes every
checkpoint, regular and best, through :func:`~scalenet_mm.engine.atomic_io.atomic_write_bytes`.
"""
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

from .atomic_io import atomic_write_bytes, atomic_write_text

__all__ = ['AtomicLocalBackend', 'ATOMIC_BACKEND_ARGS']

#: ``backend_args`` that select this backend
ATOMIC_BACKEND_ARGS = dict(backend='atomic_local')


class AtomicLocalBackend(LocalBackend):
    """Local file backend with atomic ``put`` and ``put_text`` (reads, listing and removal are unchanged)."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write_bytes(str(filepath), obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write_text(str(filepath), obj, encoding=encoding)


register_backend('atomic_local', AtomicLocalBackend, force=True)
