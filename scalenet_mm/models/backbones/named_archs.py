"""Small named ScaleNet architectures used by scalenet_mm's own configs (demo, embedded detection, WSOL demo).

They are not the authors' presets (:data:`~scalenet_mm.models.backbones.scalenet_arch.ARCH_ZOO`, whose every
entry is checked against the reference implementation), so they live in their own table; naming them lets a
detector and the classifier it is initialised from share one definition instead of two copies of a dict.
Keys use the authors' arch-file vocabulary (``rock`` = stem variant, ``slink`` = residual wiring, ``dstyle`` =
transition down-sampling, ``last_dfuc`` = last down-sampling unit; see ``docs/backbone.md``).
"""
import copy
from typing import Dict

__all__ = ['NAMED_ARCHS', 'get_named_arch']

NAMED_ARCHS: Dict[str, dict] = {
    # configs/scalenet/demo_embedded.py: a DoubleCouple stage (2 blocks, 32 channels) and a SingleCouple stage
    # (2 blocks, 64 channels) joined by the interactive transition; 0.23 M parameters.
    'demo-d2s2': dict(stages=2, depth=32, layers=(2, 2), blocks=('D', 'S'), slink=('A', 'A'), growth=(0, 0),
                      expand=(32, ), dfunc=('O', ), dstyle='maxpool', rock='U', branch=1, last_down=False,
                      last_dfuc='D', last_expand=32, version=3, stem='imagenet'),
    # configs/detection/embedded/*scalenet-tiny*: stride-4 stem, stage 1 (2 D blocks, stride 4), stage 2 (3 D
    # blocks, stride 8); its within-block maps add strides 16 and 32 for a 4-level FPN.
    'tiny-d2d3': dict(stages=2, depth=32, layers=(2, 3), blocks=('D', 'D'), slink=('A', 'A'), growth=(0, 0),
                      expand=(64, ), dfunc=('O', ), dstyle=('maxpool', 'convk2m', 'convk2'), rock='U', branch=1,
                      last_down=False, last_dfuc='D', last_expand=128, version=3, stem='imagenet'),
    # configs/wsol/scalenet_demo_cub.py: vo69 (ScaleNet103-D25) shrunk to 8 blocks of width 48, head input 400.
    'wsol-d8': dict(stages=1, depth=48, layers=(8, ), blocks=('D', ), slink=('A', ), growth=(0, ), expand=(),
                    dfunc=(), dstyle=('maxpool', 'convk2m', 'convk2'), rock='N', branch=1, last_down=True,
                    last_dfuc='E', last_expand=352, version=3, stem='imagenet'),
}


def get_named_arch(name: str) -> dict:
    """A copy of the arch dict registered under ``name``."""
    if name not in NAMED_ARCHS:
        raise KeyError(f'no named arch {name!r}; choose from {sorted(NAMED_ARCHS)}')
    return copy.deepcopy(NAMED_ARCHS[name])
