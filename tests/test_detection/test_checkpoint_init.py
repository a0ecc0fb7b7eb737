"""A classification checkpoint (mmpretrain ImageClassifier state dict) initialises a detector backbone through
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')`` with no key surprises."""
import io
import logging

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint_with_prefix

from tests.test_detection.det_helpers import EMBEDDED_DIR, SCALENET_TINY


def _classifier(backbone, in_channels, num_classes=8):
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    return MODELS.build(
        dict(type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=in_channels)))


CASES = {
    'scalenet-tiny': (dict(type='ScaleNet', arch=SCALENET_TINY, out_indices=(-1, )), 96,
                      'faster-rcnn_scalenet-tiny_fpn_shapes.py'),
    'resnet18': (dict(type='ResNet', depth=18, strides=(1, 2, 2, 1), out_indices=(3, )), 512,
                 'faster-rcnn_r18_fpn_shapes.py'),
}


@pytest.mark.parametrize('case', list(CASES))
def test_classifier_checkpoint_initialises_detector_backbone(case, tmp_path):
    backbone, channels, det_config = CASES[case]
    torch.manual_seed(1)
    cls = _classifier(backbone, channels)
    for m in cls.modules():  # non-trivial BN statistics, so that buffers are checked too
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    ckpt = tmp_path / 'cls.pth'
    torch.save({'meta': {}, 'state_dict': cls.state_dict()}, ckpt)

    cfg = Config.fromfile(str(EMBEDDED_DIR / det_config))
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.')
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    det = MODELS.build(cfg.model)

    # the prefixed checkpoint has exactly the detector backbone's keys: nothing missing, nothing unexpected
    loaded = _load_checkpoint_with_prefix('backbone.', str(ckpt))
    assert set(loaded) == set(det.backbone.state_dict())

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        det.init_weights()
    finally:
        logger.removeHandler(handler)
    log = stream.getvalue().lower()
    assert 'missing key' not in log and 'unexpected key' not in log and 'size mismatch' not in log

    ref = cls.backbone.state_dict()
    for k, v in det.backbone.state_dict().items():
        assert torch.equal(v, ref[k]), k
    # the rest of the detector is initialised normally (not from the classifier head)
    assert not any(k.startswith('head.') for k in loaded)
