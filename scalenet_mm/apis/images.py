"""Single images in and out of a model: finding them, the config's input size, preprocessing."""
import os
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

__all__ = ['IMAGE_EXTS', 'list_images', 'config_input_size', 'preprocess_image']

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def list_images(path: str, limit: Optional[int] = None) -> List[str]:
    """``path`` itself if it is a file, else the images under the folder (recursively, sorted)."""
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'no such image or folder: {path}')
    found = []
    for root, _, files in os.walk(path):
        found += [osp.join(root, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXTS)]
    found.sort()
    if not found:
        raise FileNotFoundError(f'no images ({", ".join(IMAGE_EXTS)}) under {path}')
    return found[:limit] if limit else found


def config_input_size(cfg) -> Optional[Tuple[int, int]]:
    """``(h, w)`` of the first whole-image ``Resize`` in the config's test pipeline, else None."""
    dl = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    for step in dl.get('dataset', {}).get('pipeline', []):
        if step.get('type') == 'Resize' and step.get('scale') is not None:
            scale = step['scale']
            w, h = (scale, scale) if isinstance(scale, int) else scale
            return int(h), int(w)
    return None


def preprocess_image(model: nn.Module, image_bgr: np.ndarray, size: Optional[Tuple[int, int]]) -> torch.Tensor:
    """A BGR image resized to ``size`` (``(h, w)``; None keeps it) and normalised by the model's own
    ``data_preprocessor``: a ``(1, 3, h, w)`` batch."""
    import mmcv
    img = image_bgr if size is None else mmcv.imresize(image_bgr, (size[1], size[0]))
    tensor = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    return model.data_preprocessor(dict(inputs=[tensor]), False)['inputs']
