"""Pictures of results: CAM overlays with boxes, threshold and training curves (matplotlib, Agg backend)."""
from .cam_overlays import overlay_cam, plot_cam_panels, plot_wsol_grid
from .curves import plot_threshold_curves, plot_training_curve

__all__ = ['overlay_cam', 'plot_cam_panels', 'plot_wsol_grid', 'plot_threshold_curves', 'plot_training_curve']
