"""``ExactResumeHook``: a resumed run continues with the random state the interrupted run had.

mmengine restores weights, optimizer, schedulers and the seed on resume, but not the global random states, and
between two training iterations many things draw from them that a resumed run does differently (creating
dataloader iterators, validation, the first iteration after a restart). This hook keeps a private "training
stream": it captures the global states (Python, NumPy, torch CPU and CUDA) after every training iteration and
puts them back before the next one, so only the training steps themselves advance it. That stream is saved in
every checkpoint (for every rank) and restored on resume.

On resume it also refuses a config that differs from the checkpoint's in what decides the result (model, data,
schedule; :mod:`~scalenet_mm.engine.config_diff`), listing the differences. Deliberate changes are allowed with
``allowed_changes`` (e.g. ``--cfg-options "custom_hooks.0.allowed_changes=['train_cfg.max_epochs']"``).

Data order and augmentations are the train loop's part (:class:`~scalenet_mm.engine.exact_loops.CrashSafeRunner`);
this hook warns when the runner does not provide them.
"""
import logging
from typing import Dict, List, Optional, Sequence

from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import BaseLoop

from ..registry import register_hook
from .config_diff import format_differences, result_relevant_differences
from .exact_loops import CrashSafeEpochBasedTrainLoop, CrashSafeIterBasedTrainLoop
from .rng_state import capture_rng_state, restore_rng_state

__all__ = ['ExactResumeHook', 'CHECKPOINT_KEY']

#: checkpoint key of this hook's state
CHECKPOINT_KEY = 'exact_resume'
_VERSION = 1


@register_hook()
class ExactResumeHook(Hook):
    """Keep the training's random stream apart, checkpoint it for every rank and restore it on resume.

    Args:
        check_config: refuse to resume when the model/data/schedule config differs from the checkpoint's.
        allowed_changes: dotted config keys (or prefixes) whose change is accepted on resume.
    """

    priority = 'HIGHEST'  # capture right after the train step, restore before any other hook runs

    def __init__(self, check_config: bool = True, allowed_changes: Sequence[str] = ()) -> None:
        self.check_config = check_config
        self.allowed_changes = tuple(allowed_changes)
        self._stream: Optional[Dict] = None
        self._resumed_stream: Optional[Dict] = None
        self._gathered: Optional[List] = None

    def before_run(self, runner) -> None:
        loop = getattr(runner, '_train_loop', None)
        if isinstance(loop, BaseLoop) and not isinstance(loop, (CrashSafeEpochBasedTrainLoop,
                                                                CrashSafeIterBasedTrainLoop)):
            print_log(f'ExactResumeHook: the train loop is {type(loop).__name__}, not a crash-safe loop '
                      '(runner_type="CrashSafeRunner", or a Runner built without RUNNERS.build, ignores it): '
                      'augmentations are not seeded per sample and a mid-epoch resume restarts the epoch',
                      logger='current', level=logging.WARNING)

    # -- resume -----------------------------------------------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from for initialisation, not a resume
        meta = checkpoint.get('meta', {})
        if self.check_config and meta.get('cfg'):
            self._refuse_config_changes(runner, meta['cfg'])
        self._align_sampler_seed(runner, meta.get('seed'))
        state = checkpoint.get(CHECKPOINT_KEY)
        if state is None:
            print_log('this checkpoint holds no training random state (written without ExactResumeHook): the '
                      'resumed run will not be bitwise identical to an uninterrupted one', logger='current',
                      level=logging.WARNING)
            return
        rank, world_size = get_dist_info()
        if state['world_size'] != world_size:
            print_log(f'resuming with {world_size} processes a run of {state["world_size"]}: data order and '
                      'random streams differ from the interrupted run', logger='current', level=logging.WARNING)
        streams = state['rng_states']
        self._resumed_stream = streams[rank] if rank < len(streams) else None
        if self._resumed_stream is None:
            print_log(f'the checkpoint has no random state for rank {rank}', logger='current', level=logging.WARNING)

    def _refuse_config_changes(self, runner, checkpoint_cfg: str) -> None:
        try:
            diffs = result_relevant_differences(checkpoint_cfg, runner.cfg, self.allowed_changes)
        except Exception as e:  # a config whose text does not parse back (objects, lambdas...)
            print_log(f'cannot compare the config with the checkpoint\'s ({type(e).__name__}: {e})',
                      logger='current', level=logging.WARNING)
            return
        if diffs:
            raise RuntimeError(
                'Refusing to resume: the config differs from the checkpoint\'s in what decides the result:\n'
                f'{format_differences(diffs)}\nResume with the checkpoint\'s config, start a new work dir, or '
                'accept the changes with ExactResumeHook(allowed_changes=[...]).')

    @staticmethod
    def _align_sampler_seed(runner, seed: Optional[int]) -> None:
        """With ``randomness.seed=None`` the sampler was seeded before the checkpoint's seed was known."""
        loop = getattr(runner, '_train_loop', None)
        if seed is None or not isinstance(loop, BaseLoop):
            return
        dataloader = loop.dataloader
        for sampler in (getattr(dataloader, 'sampler', None),
                        getattr(getattr(dataloader, 'batch_sampler', None), 'sampler', None)):
            if sampler is not None and hasattr(sampler, 'seed') and hasattr(sampler, 'set_epoch'):
                sampler.seed = seed

    # -- the training stream ----------------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        if self._resumed_stream is not None:
            self._stream, self._resumed_stream = self._resumed_stream, None
        else:
            self._stream = capture_rng_state()

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self._stream is not None:
            restore_rng_state(self._stream)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._stream = capture_rng_state()

    # -- checkpoints ------------------------------------------------------------------------------------------
    def gather_checkpoint_state(self, runner) -> None:
        """Collect every rank's stream for the writer (a collective: call on all ranks)."""
        _, world_size = get_dist_info()
        self._gathered = all_gather_object(self._stream) if world_size > 1 else [self._stream]

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._stream is None:
            return
        rank, world_size = get_dist_info()
        streams = self._gathered
        if streams is None:  # saved by a hook that does not gather: only this rank's stream is known
            streams = [self._stream if r == rank else None for r in range(world_size)]
        self._gathered = None
        checkpoint[CHECKPOINT_KEY] = dict(version=_VERSION, world_size=world_size, rng_states=list(streams))
