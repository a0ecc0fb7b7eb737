"""Paths and the tiny ScaleNet arch shared by the detection tests."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DET_CONFIG_DIR = REPO_ROOT / 'configs' / 'detection'
EMBEDDED_DIR = DET_CONFIG_DIR / 'embedded'

#: the tiny ScaleNet of the embedded configs
SCALENET_TINY = dict(stages=2, depth=32, layers=(2, 3), blocks=('D', 'D'), slink=('A', 'A'), growth=(0, 0),
                     expand=(64, ), dfunc=('O', ), dstyle=('maxpool', 'convk2m', 'convk2'), rock='U', branch=1,
                     last_down=False, last_dfuc='D', last_expand=128, version=3, stem='imagenet')
