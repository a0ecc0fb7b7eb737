"""Shared helpers of the crash-safe training tests: tiny data, the demo config, training in-process or as a
``tools/train.py`` subprocess that can be killed, and bitwise weight comparison."""
import copy
import glob
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs' / 'scalenet' / 'demo_embedded.py'
ITERS_PER_EPOCH = 4  # 64 training images, batch 16


def make_demo_data(root: Path) -> Path:
    from scalenet_mm.datasets import generate_dataset
    generate_dataset(str(root), num_train=64, num_test=32, image_size=64, layouts=('imagenet', ), progress=False)
    return root / 'imagenet'


def write_mixup_config(path: Path) -> Path:
    """The demo config plus Mixup, which draws from the main process's generators in every train step, so the
    tests also cover the training's own random stream (the demo model has no dropout)."""
    path.write_text(f"_base_ = '{DEMO_CONFIG}'\n"
                    "model = dict(train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8)]))\n")
    return path


def demo_options(data_root: Path, num_workers: int = 0, persistent: bool = False, iter_checkpoints: int = 0,
                 max_epochs: int = 3) -> Dict[str, object]:
    """``--cfg-options`` for a 3-epoch, 4-iteration-per-epoch run of the demo config on the tiny data."""
    options = {
        'train_dataloader.dataset.data_root': str(data_root),
        'val_dataloader.dataset.data_root': str(data_root),
        'test_dataloader.dataset.data_root': str(data_root),
        'train_cfg.max_epochs': max_epochs,
        'train_dataloader.batch_size': 16,
        'train_dataloader.num_workers': num_workers,
        'train_dataloader.persistent_workers': persistent,
        'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False,
        'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
        'randomness.seed': 0,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.max_keep_ckpts': -1,  # every checkpoint stays, to resume from any
    }
    if iter_checkpoints:
        options.update({'default_hooks.checkpoint.by_epoch': False,
                        'default_hooks.checkpoint.interval': iter_checkpoints})
    return options


def cli_options(options: Dict[str, object]) -> List[str]:
    return [f'{k}={v}' for k, v in options.items()]


def build_runner(config: Path, work_dir: Path, options: Dict[str, object], resume: bool = False,
                 load_from: Optional[Path] = None):
    """The Runner ``tools/train.py`` builds for ``config`` (through ``RUNNERS``, so ``runner_type`` counts)."""
    from mmengine.config import Config
    from mmengine.registry import RUNNERS
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(copy.deepcopy(options))  # merging consumes `_delete_` markers
    cfg.work_dir = str(work_dir)
    cfg.resume = resume
    cfg.load_from = str(load_from) if load_from else None
    cfg.log_level = 'WARNING'
    return RUNNERS.build(cfg)


def model_weights(runner) -> Dict[str, torch.Tensor]:
    model = getattr(runner.model, 'module', runner.model)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def last_checkpoint_weights(work_dir: Path) -> Dict[str, torch.Tensor]:
    name = (work_dir / 'last_checkpoint').read_text().strip()
    return torch.load(work_dir / name, map_location='cpu', weights_only=True)['state_dict']


def assert_bitwise_equal(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, (f'{len(different)} tensors differ, e.g. {different[0]}: max abs diff '
                           f'{(a[different[0]].double() - b[different[0]].double()).abs().max().item():.3g}')


def max_abs_difference(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> float:
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())


# -- subprocesses ------------------------------------------------------------------------------------------------
def train_env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    for name in ('SCALENET_MM_FAULT_AFTER_BYTES', 'SCALENET_MM_FAULT_FILE'):  # only for the runs that ask
        env.pop(name, None)
    env.update(extra)
    return env


def train_command(config: Path, work_dir: Path, options: Dict[str, object], resume: bool = False,
                  nproc: int = 1, port: int = 0) -> List[str]:
    tool = [str(REPO / 'tools' / 'train.py'), str(config), '--work-dir', str(work_dir)]
    if resume:
        tool.append('--resume')
    tool += ['--cfg-options'] + cli_options(options)
    if nproc == 1:
        return [sys.executable] + tool
    torchrun = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', str(nproc),
                '--master_port', str(port)]
    return torchrun + tool + ['--launcher', 'pytorch']


def start_training(command: List[str], log_path: Path, **env: str) -> subprocess.Popen:
    """Start a training process in its own process group (so the whole group can be killed)."""
    log = open(log_path, 'w')
    return subprocess.Popen(command, cwd=REPO, env=train_env(**env), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def run_training(command: List[str], log_path: Path, timeout: float = 900, **env: str) -> subprocess.Popen:
    process = start_training(command, log_path, **env)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        raise
    return process


def _descendants(pid: int) -> List[int]:
    children: Dict[int, List[int]] = {}
    for stat in glob.glob('/proc/[0-9]*/stat'):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.split('/')[2]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the process group of ``process`` and of every descendant: torchrun starts each rank in a session
    of its own, so killing torchrun's group alone would leave the ranks training."""
    groups = {process.pid}
    for pid in _descendants(process.pid):
        try:
            groups.add(os.getpgid(pid))
        except ProcessLookupError:
            pass
    for group in groups:
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            pass
    if sig == signal.SIGKILL:
        process.wait(timeout=60)


def logged_iterations(work_dir: Path) -> List[tuple]:
    """(epoch, batch) of every training iteration mmengine logged in ``work_dir`` (logger interval 1)."""
    found = []
    for log in glob.glob(str(work_dir / '*' / '*.log')):
        with open(log) as f:
            found += [(int(e), int(b)) for e, b in re.findall(r'Epoch\(train\)\s+\[(\d+)\]\[\s*(\d+)/\d+\]', f.read())]
    return found


def wait_until(condition, process: subprocess.Popen, log_path: Path, timeout: float = 600) -> None:
    start = time.time()
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f'training ended (rc {process.returncode}) before the awaited point:\n'
                                 + log_path.read_text()[-3000:])
        if time.time() - start > timeout:
            kill_group(process)
            raise AssertionError('timed out waiting for the training to reach the awaited point')
        time.sleep(0.02)
