"""Crash-safe file writes: a reader sees either the previous file or the complete new one, never a partial one.

A checkpoint is written to a temporary file in the same directory (same file system, so the rename is atomic),
flushed and fsync'ed, renamed over the destination, and the directory is fsync'ed so the rename itself survives
a power loss. A process killed at any point leaves the old file intact plus at most one stale temporary file,
whose name (``.<name>.<pid>.<random>.tmp``) never matches a checkpoint pattern; :func:`remove_stale_temp_files`
deletes them.

This module only needs the standard library, so a test can load it by path in a subprocess without importing
mmengine (see the fault injection below). :class:`AtomicLocalBackend` (mmengine's local backend with atomic
``put``/``put_text``) is registered as the ``'atomic_local'`` file backend by ``scalenet_mm.engine``.

Fault injection, for tests that must kill a writer *inside* the write: with ``SCALENET_MM_FAULT_AFTER_BYTES=N``
(and optionally ``SCALENET_MM_FAULT_FILE=<fnmatch pattern of the destination's base name>``, e.g.
``epoch_2.pth``) the writer writes the first N bytes to the temporary file, flushes them to disk and sends
itself SIGKILL. Nothing else reads these variables.
"""
import errno
import fnmatch
import glob
import os
import os.path as osp
import secrets
import signal
from typing import List, Union

__all__ = ['atomic_write_bytes', 'atomic_write_text', 'fsync_directory', 'remove_stale_temp_files',
           'temp_file_pattern', 'FAULT_AFTER_BYTES_ENV', 'FAULT_FILE_ENV']

FAULT_AFTER_BYTES_ENV = 'SCALENET_MM_FAULT_AFTER_BYTES'
FAULT_FILE_ENV = 'SCALENET_MM_FAULT_FILE'
_TEMP_SUFFIX = '.tmp'


def temp_file_pattern(path: str) -> str:
    """The glob of the temporary files :func:`atomic_write_bytes` may leave behind for ``path``."""
    return osp.join(osp.dirname(osp.abspath(path)), f'.{osp.basename(path)}.*{_TEMP_SUFFIX}')


def fsync_directory(directory: str) -> None:
    """Make a rename/creation inside ``directory`` durable. File systems that cannot fsync a directory
    (EINVAL/ENOTSUP, e.g. some network mounts) are tolerated: the rename is still atomic there."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _fault_injection_bytes(path: str) -> Union[int, None]:
    limit = os.environ.get(FAULT_AFTER_BYTES_ENV)
    if not limit:
        return None
    pattern = os.environ.get(FAULT_FILE_ENV)
    if pattern and not fnmatch.fnmatch(osp.basename(path), pattern):
        return None
    return int(limit)


def _write_all(fd: int, data: memoryview) -> None:
    while len(data):
        written = os.write(fd, data)
        data = data[written:]


def atomic_write_bytes(path: str, data: Union[bytes, bytearray, memoryview]) -> None:
    """Write ``data`` to ``path`` atomically and durably (temp file, fsync, rename, fsync of the directory).

    The file gets the permissions a plain ``open(path, 'wb')`` would give it (0o666 minus the umask).
    """
    path = osp.abspath(path)
    directory = osp.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tmp = osp.join(directory, f'.{osp.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}{_TEMP_SUFFIX}')
    view = memoryview(data).cast('B')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        fault_after = _fault_injection_bytes(path)
        if fault_after is not None:
            _write_all(fd, view[:fault_after])
            os.fsync(fd)
            os.kill(os.getpid(), signal.SIGKILL)
        _write_all(fd, view)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    fsync_directory(directory)


def atomic_write_text(path: str, text: str, encoding: str = 'utf-8') -> None:
    """:func:`atomic_write_bytes` for text."""
    atomic_write_bytes(path, text.encode(encoding))


def remove_stale_temp_files(directory: str) -> List[str]:
    """Delete the temporary files that killed writers left in ``directory``; returns their paths.

    Only call this while no writer is active in ``directory`` (e.g. before training starts).
    """
    removed = []
    for tmp in glob.glob(osp.join(directory, f'.*{_TEMP_SUFFIX}')):
        name = osp.basename(tmp)
        # .<name>.<pid>.<8 hex>.tmp, exactly what atomic_write_bytes creates
        parts = name[1:-len(_TEMP_SUFFIX)].rsplit('.', 2)
        if len(parts) == 3 and parts[1].isdigit() and len(parts[2]) == 8:
            try:
                os.unlink(tmp)
                removed.append(tmp)
            except FileNotFoundError:
                pass
    return removed
