import pytest
import torch
import torch.nn as nn
from mmpretrain.structures import DataSample

import scalenet_mm  # noqa: F401
from scalenet_mm.models.heads import CAMHead, cam_head_maps


def _head(**kw):
    head = CAMHead(num_classes=5, in_channels=6, **kw)
    head.init_weights()
    nn.init.normal_(head.cam_conv.bias)
    return head.eval()


def test_gap_of_map_equals_logits():
    torch.manual_seed(0)
    head = _head()
    x = torch.randn(3, 6, 7, 9)
    cams = head.forward_cam((x, ))
    assert cams.shape == (3, 5, 7, 9)
    logits = head((x, ))
    torch.testing.assert_close(cams.mean(dim=(2, 3)), logits)
    # ... and equals GAP + linear layer with the same weights (the classic CAM classifier)
    fc = x.mean(dim=(2, 3)) @ head.cam_conv.weight[:, :, 0, 0].T + head.cam_conv.bias
    torch.testing.assert_close(logits, fc, rtol=1e-5, atol=1e-5)


def test_norm_act_and_in_index():
    torch.manual_seed(0)
    head = _head(norm_act=True, in_index=0)
    feats = (torch.randn(2, 6, 4, 4), torch.randn(2, 9, 2, 2))
    cams = head.forward_cam(feats)
    assert cams.shape == (2, 5, 4, 4)
    assert isinstance(head.norm_act[0], nn.BatchNorm2d)
    torch.testing.assert_close(cams.mean(dim=(2, 3)), head(feats))
    with pytest.raises(ValueError, match='in_channels'):
        head((torch.randn(2, 3, 4, 4), ))
    with pytest.raises(ValueError, match='spatial'):
        head((torch.randn(2, 6), ))


@pytest.mark.parametrize('mode', ['gt', 'pred', 'all'])
def test_predict_fills_pred_cam(mode):
    torch.manual_seed(1)
    head = _head(cam_output=mode)
    x = torch.randn(2, 6, 3, 3)
    samples = [DataSample().set_gt_label(3), DataSample().set_gt_label(0)]
    out = head.predict((x, ), samples)
    cams = head.forward_cam((x, ))
    for i, s in enumerate(out):
        assert s.pred_score.shape == (5, )
        if mode == 'all':
            torch.testing.assert_close(s.pred_cam, cams[i])
        else:
            k = int(s.gt_label) if mode == 'gt' else int(s.pred_label)
            torch.testing.assert_close(s.pred_cam, cams[i, k])


def test_predict_without_samples_uses_prediction():
    head = _head()
    out = head.predict((torch.randn(2, 6, 3, 3), ))
    assert out[0].pred_cam.shape == (3, 3)


def test_linear_head_cam_maps():
    fc_head = nn.Module()
    fc_head.fc = nn.Linear(6, 4)
    x = torch.randn(2, 6, 5, 5)
    cams, logits = cam_head_maps(fc_head, (x, ))
    torch.testing.assert_close(logits, fc_head.fc(x.mean(dim=(2, 3))), rtol=1e-5, atol=1e-5)


def test_registered_and_classifier_predict():
    from mmpretrain.registry import MODELS
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='ScaleNet', arch=dict(stages=1, depth=8, layers=(1, ), blocks=('D', ), slink=('A', ),
                                                 growth=(0, ), expand=(), dfunc=(), rock='N', branch=1,
                                                 last_down=True, last_dfuc='E', last_expand=8, version=3,
                                                 stem='imagenet'), out_indices=(1, -1)),
        head=dict(type='CAMHead', num_classes=3, in_channels=8, in_index=0, norm_act=True)))
    model.init_weights()
    model.eval()
    out = model(torch.randn(2, 3, 32, 32), [DataSample().set_gt_label(1) for _ in range(2)], mode='predict')
    assert out[0].pred_cam.shape == (8, 8)  # stage 1: stride 4
