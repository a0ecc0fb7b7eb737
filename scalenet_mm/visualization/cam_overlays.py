"""CAM pictures: heat-map overlays, WSOL grids with GT and predicted boxes, per-scale CAM panels."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ['overlay_cam', 'plot_wsol_grid', 'plot_cam_panels']


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def overlay_cam(image: np.ndarray, cam01: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """An RGB ``image`` blended with the JET heat map of a [0, 1] map of the same size."""
    import cv2
    heat = cv2.applyColorMap((cam01 * 255).astype(np.uint8), cv2.COLORMAP_JET)[:, :, ::-1]
    return (image * (1 - alpha) + heat * alpha).astype(np.uint8)


def _draw_box(ax, box, color: str) -> None:
    import matplotlib.patches as patches
    if box is None:
        return
    x0, y0, x1, y1 = (float(v) for v in box)
    ax.add_patch(patches.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0 + 1, y1 - y0 + 1, fill=False, edgecolor=color,
                                   linewidth=1.5))


def _predicted_box(cam01: np.ndarray, tau: float, protocol: str) -> Optional[np.ndarray]:
    from scalenet_mm.wsol import boxes_from_cam
    boxes = boxes_from_cam(cam01, [tau], multi_contour=False, protocol=protocol)[0]
    if not len(boxes) or not np.any(boxes[0]):  # no contour ([0, 0, 0, 0] in the reference protocol)
        return None
    return boxes[0]


def plot_wsol_grid(vis: List[Dict], metrics: Dict[str, dict], path: str,
                   class_names: Optional[Sequence[str]] = None, protocol: str = 'reference') -> None:
    """Rows: images (``vis`` items with an ``img_path``, or the RGB array as ``img``); columns: the image with
    its GT boxes (green), then one CAM overlay per variant with the predicted box (red, largest contour, boxes
    of ``protocol``) at that variant's ``best_tau`` in ``metrics``."""
    import mmcv

    from scalenet_mm.wsol import prepare_cam
    if not vis:
        return
    plt = _pyplot()
    variants = list(vis[0]['cams'])
    cols = 1 + len(variants)
    fig, axes = plt.subplots(len(vis), cols, figsize=(1.9 * cols, 1.9 * len(vis)), squeeze=False)
    for r, item in enumerate(vis):
        image = item['img'] if 'img' in item else mmcv.imread(item['img_path'], channel_order='rgb')
        h, w = image.shape[:2]
        name = class_names[item['gt_label']] if class_names else str(item['gt_label'])
        axes[r, 0].imshow(image)
        axes[r, 0].set_title(name + ('' if item['pred_label'] == item['gt_label'] else ' (wrong)'), fontsize=6)
        gt_boxes = item['gt_bboxes'].reshape(-1, 4)
        for box in gt_boxes:
            _draw_box(axes[r, 0], box, 'lime')
        for c, variant in enumerate(variants, start=1):
            cam01 = prepare_cam(item['cams'][variant], (h, w), protocol=protocol)
            tau = float(metrics[variant].get('best_tau', 0.5))
            ax = axes[r, c]
            ax.imshow(overlay_cam(image, cam01))
            for box in gt_boxes:
                _draw_box(ax, box, 'lime')
            _draw_box(ax, _predicted_box(cam01, tau, protocol), 'red')
            if r == 0:
                ax.set_title(f'{variant} (tau={tau:.2f})', fontsize=6)
    for ax in axes.ravel():
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_cam_panels(image_rgb: np.ndarray, panels: Sequence[Tuple[str, np.ndarray]], path: str,
                    title: str = '') -> None:
    """One row: the image, then each named raw CAM normalised and overlaid at the image's size."""
    from scalenet_mm.wsol import prepare_cam
    plt = _pyplot()
    h, w = image_rgb.shape[:2]
    fig, axes = plt.subplots(1, 1 + len(panels), figsize=(2.2 * (1 + len(panels)), 2.5), squeeze=False)
    axes[0, 0].imshow(image_rgb)
    axes[0, 0].set_title(title, fontsize=7)
    for ax, (name, cam) in zip(axes[0, 1:], panels):
        ax.imshow(overlay_cam(image_rgb, prepare_cam(cam, (h, w))))
        ax.set_title(name, fontsize=7)
    for ax in axes.ravel():
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
