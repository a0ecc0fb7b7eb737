"""Shared tiny synthetic data sets for the data set tests (generated once per session)."""
import json
import os.path as osp

import pytest

from scalenet_mm.datasets.synthetic import generate_dataset

NUM_TRAIN, NUM_TEST, SIZE = 24, 10, 48


def _make(root, multi_object):
    summary = generate_dataset(str(root), num_train=NUM_TRAIN, num_test=NUM_TEST, image_size=SIZE,
                               multi_object=multi_object, seed=3, progress=False)
    with open(osp.join(str(root), 'synthetic_meta.json')) as f:
        meta = json.load(f)
    return summary, meta


@pytest.fixture(scope='session')
def single_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('single')
    summary, meta = _make(root, False)
    return {'root': str(root), 'summary': summary, 'meta': meta}


@pytest.fixture(scope='session')
def multi_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('multi')
    summary, meta = _make(root, True)
    return {'root': str(root), 'summary': summary, 'meta': meta}


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    """The data sets here are mmpretrain's: their pipelines are built from mmpretrain's transforms, whatever
    scope an earlier test left current."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield
