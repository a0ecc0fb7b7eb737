from .named_archs import NAMED_ARCHS, get_named_arch
from .scalenet import FeatureInfo, ScaleNet
from .scalenet_arch import ARCH_ALIASES, ARCH_ZOO, PAPER_NAMES, ArchError, ScaleNetArch, scalenet_depth, scalenet_name

__all__ = [
    'ScaleNet', 'FeatureInfo', 'NAMED_ARCHS', 'get_named_arch', 'ARCH_ZOO', 'ARCH_ALIASES', 'PAPER_NAMES',
    'ArchError', 'ScaleNetArch', 'scalenet_depth', 'scalenet_name'
]
