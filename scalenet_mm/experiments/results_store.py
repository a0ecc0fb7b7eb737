"""The resumable results file of an experiment (``<out>/results.json``) and the repository's config paths.

Every experiment of ``docs/`` runs as a sequence of steps whose results are stored the moment they are computed,
so that a run killed at any point (a session that ends, a crash) continues where it stopped and never recomputes
a finished step. The file records the run's settings: a run with other settings is refused, or, with ``force``,
moved aside whole, with the checkpoints next to it, which a resume must not pick up.
"""
import json
import os
import os.path as osp
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Sequence, Tuple

from scalenet_mm.engine.atomic_io import atomic_write_text

__all__ = ['REPO_ROOT', 'repo_path', 'ResultsStore']

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def repo_path(path: str) -> str:
    """``path`` relative to the repository root, made absolute (configs load from any working directory)."""
    return osp.join(REPO_ROOT, path)


class ResultsStore:
    """``results.json`` of one run: read on start, written atomically after every step (see the module)."""

    def __init__(self, path: str, settings: Dict, force: bool = False, log: Callable = print, tag: str = 'run'):
        self.path, self.tag, self.log = path, tag, log
        self._lock = threading.Lock()  # steps of one run may finish in parallel threads (step_all)
        self.data = dict(settings=settings)
        if not osp.isfile(path):
            return
        with open(path) as f:
            stored = json.load(f)
        if stored.get('settings') == settings:
            self.data = stored
        elif not force:
            raise ValueError(f'{path} holds a run with other settings ({stored.get("settings")}) than this one '
                             f'({settings}); use another --out, or --force to move it aside and start anew')
        else:
            out = osp.dirname(osp.abspath(path))
            aside = f"{out}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"
            os.rename(out, aside)
            log(f'[{tag}] the run with other settings in {out} was moved to {aside}')

    def get(self, *keys):
        """The value stored under ``keys`` (``None`` when there is none)."""
        node = self.data
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def step(self, keys: Sequence[str], compute: Callable[[], Dict]) -> Dict:
        """The value stored under ``keys``, or ``compute()``, stored there (and written) at once."""
        value = self.get(*keys)
        if value is None:
            start = time.time()
            value = compute()
            with self._lock:
                node = self.data
                for key in keys[:-1]:
                    node = node.setdefault(key, {})
                node[keys[-1]] = value
                os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
                atomic_write_text(self.path, json.dumps(self.data, indent=1))
            self.log(f"[{self.tag}] {'/'.join(map(str, keys))} done in {time.time() - start:.0f}s")
        return value

    def step_all(self, steps: Sequence[Tuple[Sequence[str], Callable[[], Dict]]], jobs: int = 1) -> List[Dict]:
        """:meth:`step` for independent steps, up to ``jobs`` at a time (threads that each wait on a training
        subprocess: on a small CPU machine two 1-thread trainings finish sooner than two 2-thread ones in turn).
        Each result is stored the moment it is computed; the first failure is raised after the others finish."""
        if jobs <= 1:
            return [self.step(keys, compute) for keys, compute in steps]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(self.step, keys, compute) for keys, compute in steps]
        return [f.result() for f in futures]
