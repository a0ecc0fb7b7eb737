from .scalenet import ScaleNet
from .scalenet_arch import ARCH_ALIASES, ARCH_ZOO, PAPER_NAMES, ArchError, ScaleNetArch, scalenet_depth, scalenet_name

__all__ = ['ScaleNet', 'ARCH_ZOO', 'ARCH_ALIASES', 'PAPER_NAMES', 'ArchError', 'ScaleNetArch', 'scalenet_depth',
           'scalenet_name']
