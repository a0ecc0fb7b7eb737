"""The one Runner builder of scalenet_mm: CPU distributed setup, ``runner_type``, train and test."""
import os
import warnings
from typing import Dict

import torch
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS

__all__ = ['LAUNCHERS', 'CPUDistributedDataParallel', 'setup_cpu_distributed', 'build_runner', 'run_train',
           'run_test', 'is_main_process', 'plain_metrics']

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


@MODEL_WRAPPERS.register_module(force=True)
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU processes: the Runner always passes ``device_ids=[LOCAL_RANK]``,
    which DDP only accepts for GPU modules; CPU modules need ``device_ids=None``."""

    def __init__(self, module, device_ids=None, **kwargs):
        kwargs.pop('output_device', None)
        super().__init__(module=module, device_ids=None, **kwargs)


def setup_cpu_distributed(cfg: Config) -> None:
    """Make ``launcher='pytorch'|'slurm'|'mpi'`` work without CUDA: gloo backend, the CPU DDP wrapper, and the
    process group initialised here (mmengine's ``init_dist`` calls ``torch.cuda.set_device``)."""
    launcher = cfg.get('launcher', 'none')
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if launcher == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or {}
    if wrapper.get('type', 'MMDistributedDataParallel') in ('MMDistributedDataParallel',
                                                           'CPUDistributedDataParallel'):
        cfg.model_wrapper_cfg = dict(wrapper, type='CPUDistributedDataParallel')
    if launcher == 'pytorch' and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')
    elif launcher != 'pytorch':
        warnings.warn(f'launcher {launcher} without CUDA: relying on mmengine init_dist with gloo')


def build_runner(cfg: Config):
    """An mmengine Runner for ``cfg`` (the config's ``runner_type`` if it names one), after the CPU DDP setup."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    setup_cpu_distributed(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def plain_metrics(metrics: Dict) -> Dict:
    """Runner metrics as JSON-ready values (tensors and numpy scalars become floats)."""
    return {k: float(v) if hasattr(v, '__float__') else v for k, v in (metrics or {}).items()}


def run_train(cfg: Config):
    """Train with the config's Runner; returns the runner (``runner.epoch`` / ``runner.iter`` / ``work_dir``)."""
    runner = build_runner(cfg)
    runner.train()
    return runner


def run_test(cfg: Config) -> Dict:
    """Test ``cfg.load_from`` with the config's Runner; returns the metrics as plain floats."""
    if not cfg.get('load_from'):
        raise ValueError('run_test needs cfg.load_from (the checkpoint to test)')
    cfg.resume = False
    runner = build_runner(cfg)
    return plain_metrics(runner.test())


def is_main_process() -> bool:
    return int(os.environ.get('RANK', 0)) == 0
