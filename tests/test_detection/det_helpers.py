"""Paths and the tiny ScaleNet arch shared by the detection tests."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DET_CONFIG_DIR = REPO_ROOT / 'configs' / 'detection'
EMBEDDED_DIR = DET_CONFIG_DIR / 'embedded'

#: the tiny ScaleNet of the embedded configs
SCALENET_TINY = 'tiny-d2d3'
