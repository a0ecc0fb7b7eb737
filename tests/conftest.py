import json
import os
from pathlib import Path

import pytest

os.environ.setdefault('OMP_NUM_THREADS', '2')

import torch  # noqa: E402

from scalenet_mm.apis.flops import REFERENCE_JSON  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent
torch.set_num_threads(int(os.environ.get('SCALENET_TEST_THREADS', '2')))


@pytest.fixture(scope='session')
def reference_archs():
    """The spec's 32 reference architectures with their exact numbers (package data, see ``REFERENCE_JSON``)."""
    return {e['name']: e for e in json.loads(Path(REFERENCE_JSON).read_text())}


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """Give every test the mm default scope it started with: a test that builds from an mmdet config must not
    leave ``mmdet`` current for the mmpretrain tests after it (the scopes a test created are dropped)."""
    from mmengine.registry import DefaultScope
    instances = DefaultScope._instance_dict
    before = list(instances)
    yield
    for name in [n for n in instances if n not in before]:
        instances.pop(name)
    if before and before[-1] in instances:
        instances.move_to_end(before[-1])
