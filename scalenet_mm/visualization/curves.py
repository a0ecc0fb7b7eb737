"""Curves: WSOL box accuracy against the CAM threshold, training loss and accuracy against the epoch."""
from typing import Dict

__all__ = ['plot_threshold_curves', 'plot_training_curve']


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def plot_threshold_curves(metrics: Dict[str, dict], path: str, title: str = '') -> None:
    """Box accuracy vs CAM threshold: one colour per CAM variant, one line style per IoU threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for index, (variant, res) in enumerate(metrics.items()):
        tau = res.get('curve/tau')
        if tau is None:
            continue
        for key, style in (('curve/BoxAcc@IoU0.3', ':'), ('curve/BoxAcc@IoU0.5', '-'), ('curve/BoxAcc@IoU0.7', '--')):
            if key in res:
                ax.plot(tau, res[key], style, color=f'C{index}', label=f'{variant} IoU{key[-3:]}')
    ax.set_xlabel('CAM threshold tau')
    ax.set_ylabel('box accuracy (%)')
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title or 'box accuracy vs threshold', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_training_curve(curves: Dict[str, list], path: str, title: str, chance: float = None) -> None:
    """Mean training loss (left axis) and validation top-1 (right axis) per epoch, from
    :func:`scalenet_mm.apis.read_training_curves`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(curves['epoch'], curves['loss'], 'o-', color='tab:red', label='train loss')
    ax.set_xlabel('epoch')
    ax.set_ylabel('train loss (mean over epoch)', color='tab:red')
    ax2 = ax.twinx()
    ax2.plot(curves['val_epoch'], curves['val_top1'], 's-', color='tab:blue', label='val top-1')
    if chance is not None:
        ax2.axhline(chance, ls='--', color='gray', lw=0.8)
    ax2.set_ylabel('top-1 accuracy (%)', color='tab:blue')
    ax2.set_ylim(0, 100)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
