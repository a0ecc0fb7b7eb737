"""scalenet_mm: ScaleNet for OpenMMLab.

``import scalenet_mm`` (or ``custom_imports=dict(imports=['scalenet_mm'])`` in a config) registers every
component in the mmpretrain and mmdet registries and allow-lists the globals that mmengine checkpoints need
for torch's weights-only loading (see :mod:`scalenet_mm.engine.checkpoint_safety`).
"""
from .engine.checkpoint_safety import register_safe_globals
from .version import __version__

register_safe_globals()

from . import datasets, detection, evaluation, models, wsol  # noqa: E402,F401  (registers the components)

__all__ = ['__version__']
