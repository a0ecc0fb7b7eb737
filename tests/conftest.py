import json
import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS_DIR))
os.environ.setdefault('OMP_NUM_THREADS', '2')

import torch  # noqa: E402

torch.set_num_threads(int(os.environ.get('SCALENET_TEST_THREADS', '2')))


@pytest.fixture(scope='session')
def reference_archs():
    """The spec's 32 reference architectures with their exact numbers (tests/data/reference_archs.json)."""
    return {e['name']: e for e in json.loads((TESTS_DIR / 'data' / 'reference_archs.json').read_text())}
