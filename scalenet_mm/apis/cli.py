"""Command-line arguments shared by the tools (argparse only; the work is done by the other apis)."""
import argparse
import os

from mmengine.config import Config

from .config import load_config
from .runner import LAUNCHERS

__all__ = ['add_runner_args', 'apply_local_rank', 'config_from_args', 'add_experiment_args', 'experiment_plan',
           'stored_results']


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


def add_experiment_args(parser: argparse.ArgumentParser, full: dict, quick: dict) -> None:
    """The arguments every experiment tool shares: one ``--<key>`` per integer setting of its ``full`` plan,
    ``--seeds``, ``--quick`` (the ``quick`` plan, what CI runs), ``--threads`` and ``--table``."""
    for key, value in full.items():
        if isinstance(value, int):
            parser.add_argument('--' + key.replace('_', '-'), type=int, help=f'default {value}')
    if 'seeds' in full:
        parser.add_argument('--seeds', type=int, nargs='+', help=f"default {list(full['seeds'])}")
    parser.add_argument('--quick', action='store_true', help=f'smoke run: {quick}')
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    parser.add_argument('--table', action='store_true', help='print the tables of <out>/results.json and exit')


def experiment_plan(args: argparse.Namespace, full: dict, quick: dict) -> dict:
    """The plan of an experiment run: ``quick`` or ``full``, with the settings given on the command line."""
    plan = dict(quick if args.quick else full)
    plan.update({k: getattr(args, k) for k in plan if getattr(args, k, None) is not None})
    return plan


def stored_results(out: str, tool: str) -> dict:
    """``<out>/results.json`` of an experiment, or exit with what to run first."""
    import json
    import os.path as osp
    path = osp.join(out, 'results.json')
    if not osp.isfile(path):
        raise SystemExit(f'no results at {path}: run {tool} first (with the same --out)')
    with open(path) as f:
        return json.load(f)
