"""The global random states (Python, NumPy, torch CPU and CUDA) as plain data, and per-sample seeding.

States are stored in checkpoints, which are loaded with weights-only unpickling: they are made only of ints,
floats, strings, lists, dicts and uint8 tensors, so the allow-list of ``checkpoint_safety`` stays as it is.
"""
import random
from contextlib import contextmanager
from typing import Dict, Iterator

import numpy as np
import torch

__all__ = ['capture_rng_state', 'restore_rng_state', 'sample_seed', 'seeded_rng']

RNGState = Dict[str, object]


def capture_rng_state() -> RNGState:
    """The current global random states of this process (CUDA: the current device, if CUDA is in use)."""
    version, mt_state, gauss = random.getstate()
    np_state = np.random.get_state(legacy=False)
    state: RNGState = dict(
        python=dict(version=int(version), state=list(mt_state), gauss=gauss),
        numpy=dict(key=np_state['state']['key'].astype(np.int64).tolist(), pos=int(np_state['state']['pos']),
                   has_gauss=int(np_state['has_gauss']), gauss=float(np_state['gauss'])),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def restore_rng_state(state: RNGState) -> None:
    """Set the global random states from :func:`capture_rng_state`'s output."""
    py = state['python']
    random.setstate((py['version'], tuple(py['state']), py['gauss']))
    npy = state['numpy']
    np.random.set_state(dict(bit_generator='MT19937',
                             state=dict(key=np.asarray(npy['key'], dtype=np.uint32), pos=npy['pos']),
                             has_gauss=npy['has_gauss'], gauss=npy['gauss']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'])


def sample_seed(seed: int, epoch: int, index: int) -> np.ndarray:
    """Ten 32-bit words, a function of (seed, epoch, sample index) only (NumPy's SeedSequence mixing)."""
    mask = (1 << 64) - 1
    return np.random.SeedSequence([int(seed) & mask, int(epoch), int(index)]).generate_state(10)


@contextmanager
def seeded_rng(words: np.ndarray) -> Iterator[None]:
    """Seed ``random``, ``np.random`` and torch's CPU generator from the ten ``words`` of :func:`sample_seed`
    inside the block and give the process its previous states back afterwards, so a data pipeline running in
    the main process (``num_workers=0``) neither depends on nor changes the training's random streams.

    Python and NumPy get different words: both are MT19937 seeded the same way from an array of words, so
    equal words would give equal streams (correlated transforms).
    """
    saved_py, saved_np, saved_torch = random.getstate(), np.random.get_state(), torch.get_rng_state()
    random.seed(int.from_bytes(words[:4].astype('<u4').tobytes(), 'little'))
    np.random.seed(words[4:8])
    torch.default_generator.manual_seed(int(words[8]) << 32 | int(words[9]))
    try:
        yield
    finally:
        random.setstate(saved_py)
        np.random.set_state(saved_np)
        torch.set_rng_state(saved_torch)
