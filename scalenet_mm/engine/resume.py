"""Which checkpoint ``resume=True`` (no path) continues from: the newest one in the work dir that loads.

mmengine reads ``<work_dir>/last_checkpoint`` and resumes from the absolute path in it. That breaks in two
ways: a truncated latest checkpoint stops the run although the previous one is intact, and a copied or moved
work dir silently resumes from the *old* location's file. Here ``last_checkpoint`` holds a path relative to the
work dir, every resumable checkpoint in the checkpoint directory is a candidate, and candidates are tried newest
first (by training progress, not file time, which a copy resets) until one loads with weights-only unpickling.
"""
import logging
import os
import os.path as osp
import re
from typing import List, NamedTuple, Optional, Tuple

import torch
from mmengine.logging import print_log

from .atomic_io import atomic_write_text

__all__ = ['LAST_CHECKPOINT', 'CheckpointCandidate', 'read_last_checkpoint', 'write_last_checkpoint',
           'list_checkpoints', 'check_resumable', 'find_resumable_checkpoint']

LAST_CHECKPOINT = 'last_checkpoint'
_RESUME_KEYS = ('meta', 'state_dict', 'message_hub')


class CheckpointCandidate(NamedTuple):
    path: str
    progress: int  # training iterations done when it was written
    kind_rank: int  # at equal progress an end-of-epoch checkpoint is later than the iteration one


def write_last_checkpoint(work_dir: str, checkpoint_path: str) -> None:
    """Record ``checkpoint_path`` in ``<work_dir>/last_checkpoint`` relative to the work dir, atomically."""
    rel = osp.relpath(osp.abspath(checkpoint_path), osp.abspath(work_dir))
    atomic_write_text(osp.join(work_dir, LAST_CHECKPOINT), rel)


def read_last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``<work_dir>/last_checkpoint`` names, as a path inside ``work_dir``, or None.

    Relative paths are resolved against the work dir. An absolute path (written by plain mmengine) that is not
    inside the work dir points into the place this work dir was copied or moved from: it is mapped to the file
    of the same name here, with a warning, and never followed.
    """
    record = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(record):
        return None
    with open(record) as f:
        name = f.read().strip()
    if not name:
        return None
    if not osp.isabs(name):
        return osp.normpath(osp.join(work_dir, name))
    work_dir_abs = osp.abspath(work_dir)
    if osp.commonpath([osp.abspath(name), work_dir_abs]) == work_dir_abs:
        return name
    local = osp.join(work_dir, osp.basename(name))
    print_log(f'{record} names {name}, outside this work dir (was it copied or moved?); using {local} instead',
              logger='current', level=logging.WARNING)
    return local


def _template_regex(template: str) -> re.Pattern:
    head, sep, tail = template.partition('{}')
    if not sep:
        raise ValueError(f'checkpoint filename template {template!r} has no "{{}}" for the step')
    return re.compile(re.escape(head) + r'(\d+)' + re.escape(tail) + r'\Z')


def list_checkpoints(directory: str, epoch_template: Optional[str], iter_template: Optional[str],
                     iters_per_epoch: Optional[int]) -> List[CheckpointCandidate]:
    """Resumable checkpoints in ``directory``, newest first.

    ``epoch_template`` / ``iter_template`` are the hook's ``filename_tmpl`` (``'epoch_{}.pth'``,
    ``'iter_{}.pth'``). An epoch checkpoint's progress is ``epoch * iters_per_epoch``; without
    ``iters_per_epoch`` (an iteration-based loop) epoch files are not expected and are ranked by epoch alone.
    Best checkpoints (``best_*``) carry no optimizer state and are never candidates.
    """
    if not osp.isdir(directory):
        return []
    patterns: List[Tuple[re.Pattern, bool]] = []
    if epoch_template:
        patterns.append((_template_regex(epoch_template), True))
    if iter_template:
        patterns.append((_template_regex(iter_template), False))
    found = []
    for name in os.listdir(directory):
        if name.startswith('best_'):
            continue
        for regex, is_epoch in patterns:
            match = regex.match(name)
            if match:
                step = int(match.group(1))
                progress = step * iters_per_epoch if (is_epoch and iters_per_epoch) else step
                found.append(CheckpointCandidate(osp.join(directory, name), progress, int(is_epoch)))
                break
    return sorted(found, key=lambda c: (c.progress, c.kind_rank), reverse=True)


def check_resumable(path: str) -> Optional[str]:
    """None if ``path`` loads (weights-only) as a resumable mmengine checkpoint, else why it does not."""
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # truncated zip, bad pickle, refused global, I/O error...
        return f'{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}'
    if not isinstance(checkpoint, dict):
        return f'not an mmengine checkpoint (a {type(checkpoint).__name__})'
    missing = [k for k in _RESUME_KEYS if k not in checkpoint]
    if missing:
        return f'not a resumable mmengine checkpoint (no {", ".join(missing)})'
    return None


def find_resumable_checkpoint(work_dir: str, checkpoint_dir: str, epoch_template: Optional[str],
                              iter_template: Optional[str], iters_per_epoch: Optional[int]) -> Optional[str]:
    """The newest checkpoint of ``checkpoint_dir`` that loads; None when there is none to resume (fresh run).

    Unreadable candidates are skipped with a warning naming each. Raises ``RuntimeError`` when candidates exist
    but none loads, or when ``last_checkpoint`` names a checkpoint although none is left.
    """
    candidates = list_checkpoints(checkpoint_dir, epoch_template, iter_template, iters_per_epoch)
    recorded = read_last_checkpoint(work_dir)
    if recorded is not None and osp.isfile(recorded) and all(
            osp.abspath(c.path) != osp.abspath(recorded) for c in candidates):
        # a checkpoint with a custom name: try it after the ones whose progress is known
        candidates.append(CheckpointCandidate(recorded, -1, 0))
    if not candidates:
        if recorded is not None:
            raise RuntimeError(
                f'resume=True: {osp.join(work_dir, LAST_CHECKPOINT)} names {recorded}, but there is no checkpoint '
                f'in {checkpoint_dir}. Delete last_checkpoint to start from scratch, or resume from a given '
                'file (tools/train.py --resume CKPT).')
        return None
    failures: List[str] = []
    for candidate in candidates:
        problem = check_resumable(candidate.path)
        if problem is None:
            if failures:
                print_log(f'Resuming from {candidate.path}, the newest checkpoint that loads.', logger='current',
                          level=logging.WARNING)
            return candidate.path
        failures.append(f'{candidate.path}: {problem}')
        print_log(f'Skipping unreadable checkpoint {candidate.path} ({problem}).', logger='current',
                  level=logging.WARNING)
    raise RuntimeError('resume=True but no checkpoint in ' + checkpoint_dir + ' loads:\n  ' + '\n  '.join(failures)
                       + '\nStart from scratch (resume=False, or a new work dir) or resume from a given file.')
