"""Atomic checkpoint writes: a writer killed inside the write leaves the previous file intact."""
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from scalenet_mm.engine.atomic_backend import AtomicLocalBackend
from scalenet_mm.engine.atomic_io import (
    FAULT_AFTER_BYTES_ENV,
    FAULT_FILE_ENV,
    atomic_write_bytes,
    atomic_write_text,
    remove_stale_temp_files,
    temp_file_pattern,
)

ATOMIC_IO = Path(__file__).resolve().parents[2] / 'scalenet_mm' / 'engine' / 'atomic_io.py'

# loads atomic_io.py by path: the writer needs nothing but the standard library, so the subprocess is fast
WRITER = '''
import importlib.util, sys
spec = importlib.util.spec_from_file_location('atomic_io', sys.argv[1])
atomic_io = importlib.util.module_from_spec(spec)
spec.loader.exec_module(atomic_io)
atomic_io.atomic_write_bytes(sys.argv[2], bytes(range(256)) * int(sys.argv[3]))
'''


def run_writer(path: Path, repeats: int, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', WRITER, str(ATOMIC_IO), str(path), str(repeats)],
                          env=dict(os.environ, **env), capture_output=True, timeout=60)


def test_replaces_the_file_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / 'sub' / 'epoch_1.pth'
    atomic_write_bytes(str(target), b'old')
    atomic_write_bytes(str(target), b'new contents')
    assert target.read_bytes() == b'new contents'
    assert sorted(p.name for p in target.parent.iterdir()) == ['epoch_1.pth']
    atomic_write_text(str(tmp_path / 'last_checkpoint'), 'epoch_1.pth')
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_1.pth'


def test_file_mode_is_that_of_a_plain_open(tmp_path):
    atomic_write_bytes(str(tmp_path / 'a'), b'x')
    with open(tmp_path / 'b', 'wb') as f:
        f.write(b'x')
    assert stat.S_IMODE(os.stat(tmp_path / 'a').st_mode) == stat.S_IMODE(os.stat(tmp_path / 'b').st_mode)


def test_writer_killed_mid_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / 'epoch_2.pth'
    previous = b'previous checkpoint'
    target.write_bytes(previous)
    done = run_writer(target, 1000, **{FAULT_AFTER_BYTES_ENV: '4096', FAULT_FILE_ENV: 'epoch_*.pth'})
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    assert target.read_bytes() == previous
    partial = list(tmp_path.glob(Path(temp_file_pattern(str(target))).name))
    assert len(partial) == 1 and partial[0].stat().st_size == 4096  # the write really was under way
    assert remove_stale_temp_files(str(tmp_path)) == [str(partial[0])]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_2.pth']


def test_fault_injection_only_hits_matching_files(tmp_path):
    target = tmp_path / 'epoch_1.pth'
    done = run_writer(target, 10, **{FAULT_AFTER_BYTES_ENV: '10', FAULT_FILE_ENV: 'epoch_2.pth'})
    assert done.returncode == 0, done.stderr.decode()
    assert target.read_bytes() == bytes(range(256)) * 10


def test_stale_file_cleanup_spares_other_hidden_files(tmp_path):
    (tmp_path / '.keep.tmp').write_text('not ours')
    (tmp_path / '.epoch_1.pth.123.0badc0de.tmp').write_text('partial')
    assert [Path(p).name for p in remove_stale_temp_files(str(tmp_path))] == ['.epoch_1.pth.123.0badc0de.tmp']
    assert (tmp_path / '.keep.tmp').exists()


def test_backend_serves_mmengine_save_checkpoint(tmp_path):
    from mmengine.runner import save_checkpoint
    path = tmp_path / 'ckpt.pth'
    save_checkpoint({'state_dict': {'w': torch.arange(3.)}}, str(path), backend_args=dict(backend='atomic_local'))
    assert torch.equal(torch.load(path, weights_only=True)['state_dict']['w'], torch.arange(3.))
    backend = AtomicLocalBackend()
    backend.put_text('hello', tmp_path / 'note.txt')
    assert backend.get_text(tmp_path / 'note.txt') == 'hello'


def test_write_error_removes_the_temporary_file(tmp_path, monkeypatch):
    (tmp_path / 'x').write_bytes(b'previous')

    def failing_fsync(fd):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', failing_fsync)
    with pytest.raises(OSError, match='No space left'):
        atomic_write_bytes(str(tmp_path / 'x'), b'new')
    assert [p.name for p in tmp_path.iterdir()] == ['x'] and (tmp_path / 'x').read_bytes() == b'previous'
