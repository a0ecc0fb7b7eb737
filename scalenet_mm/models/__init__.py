from . import backbones, converters, layers  # noqa: F401
from .backbones import ScaleNet

__all__ = ['ScaleNet']
