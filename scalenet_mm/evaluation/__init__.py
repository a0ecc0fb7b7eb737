"""Evaluation metrics of scalenet_mm (registered in mmpretrain and mmdet ``METRICS``)."""
from .wsol_metric import WSOLMetric

__all__ = ['WSOLMetric']
