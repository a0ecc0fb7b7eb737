"""Classification test-time transforms: fixed-position crops for the paper's 10-crop testing.

The paper evaluates ImageNet with "10-crop" testing: the four corner crops and the centre crop of the
resized image, each also horizontally flipped, with the softmax scores averaged. mmcv only has a centre
crop, so :class:`CropAt` adds the corner positions; :func:`ten_crop_tta_pipeline` builds the matching
mmpretrain ``TestTimeAug`` pipeline (5 positions x 2 flips = 10 views), to be used with
``tta_model = dict(type='AverageClsScoreTTA')`` (which averages the per-view softmax ``pred_score``).
"""
import copy
from typing import List, Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform

from scalenet_mm.registry import register_transform

__all__ = ['CropAt', 'CROP_POSITIONS', 'ten_crop_tta_pipeline']

#: Crop positions of the 10-crop protocol (top-left, top-right, bottom-left, bottom-right, centre).
CROP_POSITIONS = ('tl', 'tr', 'bl', 'br', 'center')


@register_transform()
class CropAt(BaseTransform):
    """Crop ``crop_size`` pixels at a fixed position of ``results['img']``.

    Required keys: ``img``. Modified keys: ``img``, ``img_shape``.

    Args:
        crop_size: ``int`` (square) or ``(height, width)``.
        position: one of ``'tl'``, ``'tr'``, ``'bl'``, ``'br'``, ``'center'``. The centre crop uses the same
            rounding as mmcv's ``CenterCrop`` (offset ``(size - crop) // 2``).
        padding: zero-pad every side by this many pixels first (CIFAR 10-crop: pad 4, crop 32 = shifts of
            +-4 pixels, the test-time counterpart of the pad-4 random-crop training augmentation).
    """

    def __init__(self, crop_size: Union[int, Sequence[int]], position: str = 'center', padding: int = 0) -> None:
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        crop_size = tuple(int(s) for s in crop_size)
        if len(crop_size) != 2 or min(crop_size) < 1:
            raise ValueError(f'crop_size must be a positive int or (height, width), got {crop_size!r}')
        if position not in CROP_POSITIONS:
            raise ValueError(f'position must be one of {CROP_POSITIONS}, got {position!r}')
        if int(padding) < 0:
            raise ValueError(f'padding must be >= 0, got {padding!r}')
        self.crop_size, self.position, self.padding = crop_size, position, int(padding)

    def transform(self, results: dict) -> dict:
        img = results['img']
        if self.padding:
            p = self.padding
            img = np.pad(img, ((p, p), (p, p)) + ((0, 0), ) * (img.ndim - 2), mode='constant')
        h, w = img.shape[:2]
        ch, cw = self.crop_size
        if ch > h or cw > w:
            raise ValueError(f'CropAt: crop {ch}x{cw} is larger than the image {h}x{w}; resize first')
        if self.position == 'center':
            y0, x0 = (h - ch) // 2, (w - cw) // 2
        else:
            y0 = 0 if self.position[0] == 't' else h - ch
            x0 = 0 if self.position[1] == 'l' else w - cw
        results['img'] = np.ascontiguousarray(img[y0:y0 + ch, x0:x0 + cw])
        results['img_shape'] = (ch, cw)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_size={self.crop_size}, position={self.position!r}, '
                f'padding={self.padding})')


def ten_crop_tta_pipeline(crop_size: Union[int, Sequence[int]], pre: Optional[List[dict]] = None,
                          post: Optional[List[dict]] = None, padding: int = 0) -> List[dict]:
    """Config list of a 10-crop test pipeline: ``pre`` transforms, then ``TestTimeAug`` over 5 positions x
    {no flip, horizontal flip}, then ``post`` (default ``[PackInputs]``)."""
    crops = [dict(type='CropAt', crop_size=crop_size, position=p, padding=padding) for p in CROP_POSITIONS]
    flips = [dict(type='RandomFlip', prob=0.), dict(type='RandomFlip', prob=1., direction='horizontal')]
    post = post if post is not None else [dict(type='PackInputs')]
    return copy.deepcopy(list(pre or [])) + [
        dict(type='TestTimeAug', transforms=[crops, flips, copy.deepcopy(post)])]
