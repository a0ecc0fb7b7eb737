"""Shared helpers of the config / tool tests: tiny data in the real on-disk formats and cfg-options that shrink
the shipped configs to seconds on a CPU."""
import glob
import os
import os.path as osp
import sys

import pytest

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


@pytest.fixture(scope='session')
def cifar10_root(tmp_path_factory):
    from scalenet_mm.datasets import write_cifar_layout
    root = str(tmp_path_factory.mktemp('cifar10'))
    write_cifar_layout(root, num_per_split=(24, 4), num_classes=10, image_source='random', seed=0)
    return root


@pytest.fixture(scope='session')
def cifar100_root(tmp_path_factory):
    from scalenet_mm.datasets import write_cifar_layout
    root = str(tmp_path_factory.mktemp('cifar100'))
    write_cifar_layout(root, num_per_split=(24, 4), num_classes=100, image_source='random', seed=0)
    return root


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """The embedded data set, tiny: <root>/imagenet/{train,val,meta} with 64x64 images."""
    from scalenet_mm.datasets import generate_dataset
    root = str(tmp_path_factory.mktemp('synthetic'))
    generate_dataset(root, num_train=16, num_test=8, image_size=64, layouts=('imagenet', ), progress=False)
    return root
