import os.path as osp

import pytest

import scalenet_mm  # noqa: F401  (registers ScaleNet in the mmdet and mmpretrain registries)


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
