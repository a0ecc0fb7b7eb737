"""Shared helpers of the config / tool tests: tiny data in the real on-disk formats and cfg-options that shrink
the shipped configs to seconds on a CPU."""

import pytest

from tests.test_configs.config_helpers import REPO, TOOLS, loader_opts  # noqa: F401,E402


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
