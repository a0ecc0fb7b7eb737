"""Evaluation metrics of scalenet_mm (registered in mmpretrain and mmdet ``METRICS``)."""
from .intervals import intervals_overlap, mean_ci95, rounded_ci95
from .wsol_metric import WSOLMetric

__all__ = ['WSOLMetric', 'mean_ci95', 'rounded_ci95', 'intervals_overlap']
