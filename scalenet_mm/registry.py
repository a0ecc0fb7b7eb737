"""Registration of scalenet_mm components into the mmpretrain and mmdet registries.

Every public component is registered under the same name in both libraries, so a config can use it
with ``default_scope='mmpretrain'`` or ``default_scope='mmdet'`` after ``custom_imports=['scalenet_mm']``.

Usage::

    from scalenet_mm.registry import register_model

    @register_model()
    class ScaleNet(BaseBackbone):
        ...
"""
from typing import Callable, List

from mmdet import registry as mmdet_registry
from mmpretrain import registry as mmpretrain_registry

__all__ = [
    'register_model', 'register_dataset', 'register_transform', 'register_metric', 'register_hook',
    'register_data_sampler', 'register_loop', 'MMPRETRAIN', 'MMDET'
]

MMPRETRAIN = mmpretrain_registry
MMDET = mmdet_registry


def _register_in_both(registry_name: str, force: bool = False) -> Callable:
    registries: List = [getattr(MMPRETRAIN, registry_name), getattr(MMDET, registry_name)]

    def decorator(cls):
        for registry in registries:
            registry.register_module(module=cls, force=force)
        return cls

    return decorator


def register_model(force: bool = False) -> Callable:
    """Register a class in ``MODELS`` of mmpretrain and mmdet."""
    return _register_in_both('MODELS', force)


def register_dataset(force: bool = False) -> Callable:
    """Register a class in ``DATASETS`` of mmpretrain and mmdet."""
    return _register_in_both('DATASETS', force)


def register_transform(force: bool = False) -> Callable:
    """Register a class in ``TRANSFORMS`` of mmpretrain and mmdet."""
    return _register_in_both('TRANSFORMS', force)


def register_metric(force: bool = False) -> Callable:
    """Register a class in ``METRICS`` of mmpretrain and mmdet."""
    return _register_in_both('METRICS', force)


def register_hook(force: bool = False) -> Callable:
    """Register a class in ``HOOKS`` of mmpretrain and mmdet."""
    return _register_in_both('HOOKS', force)


def register_data_sampler(force: bool = False) -> Callable:
    """Register a class in ``DATA_SAMPLERS`` of mmpretrain and mmdet."""
    return _register_in_both('DATA_SAMPLERS', force)


def register_loop(force: bool = False) -> Callable:
    """Register a class in ``LOOPS`` of mmpretrain and mmdet."""
    return _register_in_both('LOOPS', force)
