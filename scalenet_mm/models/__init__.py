from . import backbones, converters, layers  # noqa: F401
from . import heads  # noqa: F401,E402  (registers CAMHead)
from .backbones import ScaleNet

__all__ = ['ScaleNet']
