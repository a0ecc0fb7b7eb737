"""Helpers shared by tools/train.py and tools/test.py (scope-agnostic: mmpretrain and mmdet configs)."""
import os
import os.path as osp
import sys
import warnings

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.model import MMDistributedDataParallel  # noqa: E402
from mmengine.registry import MODEL_WRAPPERS  # noqa: E402

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


@MODEL_WRAPPERS.register_module(force=True)
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU processes: the Runner always passes ``device_ids=[LOCAL_RANK]``,
    which DDP only accepts for GPU modules; CPU modules need ``device_ids=None``."""

    def __init__(self, module, device_ids=None, **kwargs):
        kwargs.pop('output_device', None)
        super().__init__(module=module, device_ids=None, **kwargs)


def add_common_args(parser) -> None:
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, "key=value" (e.g. train_dataloader.batch_size=32); lists as '
                        '"key=[a,b]", nested as "key=[(a,b),(c,d)]" with quotes')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    # torch.distributed.launch passes --local_rank / --local-rank; torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args) -> Config:
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = Config.fromfile(args.config)  # imports custom_imports (e.g. scalenet_mm)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if getattr(args, 'work_dir', None):
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def setup_cpu_distributed(cfg: Config) -> None:
    """Make ``--launcher pytorch|slurm|mpi`` work without CUDA: gloo backend, CPU DDP wrapper, and the process
    group initialised here (mmengine's ``init_dist`` calls ``torch.cuda.set_device``)."""
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or {}
    if wrapper.get('type', 'MMDistributedDataParallel') in ('MMDistributedDataParallel',
                                                           'CPUDistributedDataParallel'):
        cfg.model_wrapper_cfg = dict(wrapper, type='CPUDistributedDataParallel')
    if cfg.launcher == 'pytorch' and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')
    elif cfg.launcher != 'pytorch':
        warnings.warn(f'--launcher {cfg.launcher} without CUDA: relying on mmengine init_dist with gloo')


def build_runner(cfg: Config):
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
