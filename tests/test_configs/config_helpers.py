"""Paths and cfg-option helpers shared by the config / tool tests."""
import glob
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')
CONFIG_DIR = osp.join(REPO, 'configs', 'scalenet')
ALL_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
for p in (REPO, TOOLS):
    if p not in sys.path:
        sys.path.insert(0, p)


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
