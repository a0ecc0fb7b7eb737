"""Paths and cfg-option helpers shared by the config / tool tests, and the in-process form of
``tools/train.py`` / ``tools/test.py`` (the same apis calls, without argparse)."""
import argparse
import glob
import os.path as osp

from mmengine.config import DictAction

from scalenet_mm.apis import apply_test_options, apply_train_options, load_config, run_test, run_train

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')
CONFIG_DIR = osp.join(REPO, 'configs', 'scalenet')
ALL_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))


def config_path(name: str) -> str:
    return osp.join(CONFIG_DIR, name if name.endswith('.py') else name + '.py')


def loader_opts(data_root: str, batch: int = 4, extra_dataset: dict = None) -> list:
    """cfg-options (as 'key=value' strings) pointing every dataloader at data_root, tiny and worker-free."""
    opts = []
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.data_root={data_root}', f'{split}_dataloader.batch_size={batch}',
                 f'{split}_dataloader.num_workers=0', f'{split}_dataloader.persistent_workers=False']
        for k, v in (extra_dataset or {}).items():
            opts.append(f'{split}_dataloader.dataset.{k}={v}')
    return opts + ['default_hooks.logger.interval=1', 'randomness.seed=0']


def parse_cfg_options(opts: list) -> dict:
    """'key=value' strings -> the dict ``--cfg-options`` parses them into."""
    namespace = argparse.Namespace()
    DictAction(option_strings=['--cfg-options'], dest='cfg_options')(None, namespace, list(opts))
    return namespace.cfg_options


def train_like_tool(config: str, work_dir: str, opts: list, resume: str = None):
    """``tools/train.py CONFIG --work-dir W [--resume [R]] --cfg-options OPTS`` in-process; returns the runner."""
    cfg = load_config(config, parse_cfg_options(opts), work_dir, launcher='none')
    return run_train(apply_train_options(cfg, resume=resume))


def test_like_tool(config: str, checkpoint: str, work_dir: str, opts: list, tta: bool = False,
                   out: str = None) -> dict:
    """``tools/test.py CONFIG CKPT --work-dir W [--tta] [--out P] --cfg-options OPTS`` in-process."""
    cfg = load_config(config, parse_cfg_options(opts), work_dir, launcher='none')
    return run_test(apply_test_options(cfg, checkpoint, tta, out))


test_like_tool.__test__ = False  # a helper, not a test
