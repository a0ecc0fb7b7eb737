"""The experiments of ``docs/`` as library code: each one composes :mod:`scalenet_mm.apis` and has a thin
command in ``tools/``."""
