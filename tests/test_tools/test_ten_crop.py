"""CropAt and the 10-crop TTA: 10 views (5 positions x 2 flips), softmax scores averaged."""
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope

from scalenet_mm.datasets.transforms import CropAt, ten_crop_tta_pipeline


def test_crop_positions():
    img = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    crops = {p: CropAt(4, p)(dict(img=img.copy()))['img'] for p in ('tl', 'tr', 'bl', 'br', 'center')}
    assert np.array_equal(crops['tl'], img[:4, :4]) and np.array_equal(crops['tr'], img[:4, 4:])
    assert np.array_equal(crops['bl'], img[2:, :4]) and np.array_equal(crops['br'], img[2:, 4:])
    assert np.array_equal(crops['center'], img[1:5, 2:6])
    padded = CropAt(6, 'tl', padding=1)(dict(img=img.copy()))['img']
    assert padded.shape == (6, 6, 3) and padded[0].sum() == 0 and np.array_equal(padded[1:, 1:], img[:5, :5])
    with pytest.raises(ValueError, match='larger than the image'):
        CropAt(10)(dict(img=img))
    with pytest.raises(ValueError, match='position'):
        CropAt(4, 'middle')


def test_ten_crop_tta_equals_manual_average():
    from mmpretrain.registry import MODELS, TRANSFORMS
    torch.manual_seed(0)
    img = np.random.RandomState(0).randint(0, 255, (40, 44, 3), dtype=np.uint8)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipe = Compose([TRANSFORMS.build(t) for t in ten_crop_tta_pipeline(32)])
        data = pipe(dict(img=img, gt_label=1))
        assert len(data['inputs']) == 10
        model_cfg = dict(type='ImageClassifier', backbone=dict(type='ScaleNet', arch='cifar10_d7_32l'),
                         neck=dict(type='GlobalAveragePooling'),
                         head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
        tta = MODELS.build(dict(type='AverageClsScoreTTA', module=model_cfg)).eval()
        with torch.no_grad():
            merged = tta.test_step(pseudo_collate([data]))[0].pred_score
            views = []
            for pos in ('tl', 'tr', 'bl', 'br', 'center'):
                crop = torch.from_numpy(CropAt(32, pos)(dict(img=img.copy()))['img']).permute(2, 0, 1).float()
                views += [crop, crop.flip(-1)]
            scores = tta.module(torch.stack(views), mode='tensor').softmax(-1)
    assert torch.allclose(merged, scores.mean(0), atol=1e-5)
