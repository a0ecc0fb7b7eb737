"""Pipeline transforms for weakly supervised localisation (registered in mmpretrain and mmdet).

WSOL evaluation happens in the frame of the original image (``ori_shape``): the metric resizes the CAM back
to it, so boxes and masks are loaded once and never transformed. Use a whole-image ``Resize`` at test time
(no crop: a ``CenterCrop`` would break the CAM-to-image correspondence) and pack the annotations with::

    dict(type='LoadWSOLMask'),   # optional, for PxAP
    dict(type='PackInputs', algorithm_keys=('gt_bboxes', 'gt_mask'))
"""
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from scalenet_mm.registry import register_transform

__all__ = ['LoadWSOLMask']


@register_transform()
class LoadWSOLMask(BaseTransform):
    """Load ``results['mask_path']`` (e.g. a CUB segmentation PNG) as ``results['gt_mask']``: a ``(H, W)``
    uint8 array, 1 where the mask value is above ``threshold`` (CUB masks are soft, 0..255), else 0.

    Args:
        threshold: binarisation threshold on the 0..255 grey value (default 127: the CUB convention
            of counting pixels where at least half of the annotators agree).
        ignore_missing: samples without ``mask_path`` pass unchanged (otherwise ``KeyError``).
    """

    def __init__(self, threshold: float = 127, ignore_missing: bool = True):
        self.threshold = threshold
        self.ignore_missing = ignore_missing

    def transform(self, results: dict) -> Optional[dict]:
        path = results.get('mask_path')
        if path is None:
            if self.ignore_missing:
                return results
            raise KeyError('LoadWSOLMask: the sample has no `mask_path`')
        mask = mmcv.imread(path, flag='grayscale')
        if mask is None:
            raise FileNotFoundError(f'LoadWSOLMask: cannot read {path}')
        results['gt_mask'] = (mask > self.threshold).astype(np.uint8)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(threshold={self.threshold}, ignore_missing={self.ignore_missing})'
