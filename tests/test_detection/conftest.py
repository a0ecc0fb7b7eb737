import os.path as osp
from pathlib import Path

import pytest

import scalenet_mm  # noqa: F401  (registers ScaleNet in the mmdet and mmpretrain registries)

REPO_ROOT = Path(__file__).resolve().parents[2]
DET_CONFIG_DIR = REPO_ROOT / 'configs' / 'detection'
EMBEDDED_DIR = DET_CONFIG_DIR / 'embedded'

#: the tiny ScaleNet of the embedded configs
SCALENET_TINY = dict(stages=2, depth=32, layers=(2, 3), blocks=('D', 'D'), slink=('A', 'A'), growth=(0, 0),
                     expand=(64, ), dfunc=('O', ), dstyle=('maxpool', 'convk2m', 'convk2'), rock='U', branch=1,
                     last_down=False, last_dfuc='D', last_expand=128, version=3, stem='imagenet')


@pytest.fixture(scope='session')
def shapes_coco(tmp_path_factory):
    """A tiny multi-object shapes set in the COCO layout (real files): ``<root>/coco``."""
    from scalenet_mm.datasets import generate_dataset
    root = tmp_path_factory.mktemp('shapes_det')
    generate_dataset(str(root), num_train=12, num_test=6, image_size=64, multi_object=True, layouts=('coco', ),
                     progress=False)
    return osp.join(str(root), 'coco')


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """These CPU tests run on shared cores: intra-op threads beyond one oversubscribe them badly."""
    import torch
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
