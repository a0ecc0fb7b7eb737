"""Command-line arguments shared by the tools (argparse only; the work is done by the other apis)."""
import argparse
import os

from mmengine.config import Config

from .config import load_config
from .runner import LAUNCHERS

__all__ = ['add_runner_args', 'apply_local_rank', 'config_from_args']


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options``, ``--launcher`` and ``--local-rank``, as in mmpretrain's and mmdet's tools."""
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, "key=value" (e.g. train_dataloader.batch_size=32); lists as '
                        '"key=[a,b]", nested as "key=[(a,b),(c,d)]" with quotes')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    # torch.distributed.launch passes --local_rank / --local-rank; torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def apply_local_rank(args: argparse.Namespace) -> None:
    """Export ``--local-rank`` as ``LOCAL_RANK`` unless the launcher already set it."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))


def config_from_args(args: argparse.Namespace) -> Config:
    """The config of a train / test command: ``args.config`` with ``--cfg-options``, ``--work-dir`` and
    ``--launcher`` applied (and ``--local-rank`` exported)."""
    apply_local_rank(args)
    return load_config(args.config, args.cfg_options, getattr(args, 'work_dir', None), launcher=args.launcher)
