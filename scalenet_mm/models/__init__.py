from . import (  # noqa: F401
    backbones,
    converters,
    heads,  # noqa: F401,E402  (registers CAMHead)
    layers,
)
from .backbones import ScaleNet

__all__ = ['ScaleNet']
