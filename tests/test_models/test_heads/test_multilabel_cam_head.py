import math

import pytest
import torch
import torch.nn as nn
from mmpretrain.structures import DataSample

import scalenet_mm  # noqa: F401
from scalenet_mm.models.heads import MultiLabelCAMHead

TINY_SCALENET = dict(stages=1, depth=8, layers=(1, ), blocks=('D', ), slink=('A', ), growth=(0, ), expand=(),
                     dfunc=(), rock='N', branch=1, last_down=True, last_dfuc='E', last_expand=8, version=3,
                     stem='imagenet')


def _head(**kw):
    head = MultiLabelCAMHead(num_classes=4, in_channels=6, **kw)
    head.init_weights()
    nn.init.normal_(head.cam_conv.bias)
    return head.eval()


def test_topk_pooling_averages_the_strongest_positions():
    torch.manual_seed(0)
    head = _head(pooling='topk', topk_ratio=0.25)
    x = torch.randn(2, 6, 4, 5)
    cams = head.forward_cam((x, ))
    assert cams.shape == (2, 4, 4, 5)
    flat = cams.flatten(2)
    expected = torch.stack([torch.stack([row.sort(descending=True).values[:5].mean() for row in img])
                            for img in flat])  # 25 % of 20 positions
    torch.testing.assert_close(head((x, )), expected)
    # the 1x1 projection makes the maps the classic CAMs: the conv applied at every position
    w, b = head.cam_conv.weight[:, :, 0, 0], head.cam_conv.bias
    torch.testing.assert_close(cams, torch.einsum('nchw,kc->nkhw', x, w) + b.view(1, -1, 1, 1))


def test_pooling_limits():
    torch.manual_seed(1)
    x = torch.randn(3, 6, 5, 5)
    cams = _head().forward_cam((x, )).double()  # float64: the r -> 0 limit cancels log(H * W) exactly enough
    gap = cams.mean(dim=(2, 3))
    peak = cams.amax(dim=(2, 3))
    for pooling, kw, expected in [('avg', {}, gap), ('max', {}, peak), ('topk', dict(topk_ratio=1.0), gap)]:
        torch.testing.assert_close(_head(pooling=pooling, **kw).pool(cams), expected)
    lse = _head(pooling='lse', lse_r=1e-4)
    torch.testing.assert_close(lse.pool(cams), gap, rtol=1e-4, atol=1e-4)
    sharp = _head(pooling='lse', lse_r=200.0)
    assert torch.all(sharp.pool(cams) <= peak + 1e-6)
    assert torch.all(sharp.pool(cams) >= peak - math.log(25) / 200.0 - 1e-6)
    r5 = _head(pooling='lse', lse_r=5.0).pool(cams)
    assert torch.all(r5 > gap) and torch.all(r5 < peak)


def test_multilabel_loss_and_predictions():
    torch.manual_seed(2)
    head = _head(pooling='lse')
    x = torch.randn(2, 6, 3, 3)
    samples = [DataSample().set_gt_label([0, 2]), DataSample().set_gt_label([3])]
    logits = head((x, ))
    target = torch.tensor([[1., 0., 1., 0.], [0., 0., 0., 1.]])
    loss = head.loss((x, ), samples)['loss']
    # mmpretrain's sigmoid CrossEntropyLoss: summed over classes, averaged over the batch (avg_factor = N)
    expected = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction='sum') / 2
    torch.testing.assert_close(loss, expected)
    out = head.predict((x, ), [DataSample().set_gt_label([0, 2]), DataSample().set_gt_label([3])])
    cams = head.forward_cam((x, ))
    for i, sample in enumerate(out):
        torch.testing.assert_close(sample.pred_score, logits[i].sigmoid())
        torch.testing.assert_close(sample.pred_cam, cams[i])  # all maps by default
        assert torch.equal(sample.pred_label, torch.where(logits[i].sigmoid() >= 0.5)[0])
    top = _head(pooling='lse', cam_output='pred')
    top.load_state_dict(head.state_dict())
    for i, sample in enumerate(top.predict((x, ))):
        torch.testing.assert_close(sample.pred_cam, cams[i, int(logits[i].argmax())])


@pytest.mark.parametrize('kwargs, match', [(dict(pooling='gap'), 'pooling'), (dict(topk_ratio=0.0), 'topk_ratio'),
                                           (dict(lse_r=0), 'lse_r'), (dict(cam_output='gt'), 'cam_output')])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiLabelCAMHead(num_classes=3, in_channels=4, **kwargs)
    with pytest.raises(ValueError, match='spatial'):
        _head()((torch.randn(2, 6), ))


def _classifier(**head_kw):
    from mmpretrain.registry import MODELS
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='ScaleNet', arch=TINY_SCALENET, out_indices=(1, -1)),
        head=dict(type='MultiLabelCAMHead', num_classes=3, in_channels=8, in_index=0, norm_act=True, **head_kw)))
    model.init_weights()
    return model


def test_classifier_cams_read_the_head_maps_and_sigmoid_scores():
    from scalenet_mm.wsol import classifier_cams
    torch.manual_seed(3)
    model = _classifier(pooling='topk', topk_ratio=0.2).eval()
    inputs = torch.randn(2, 3, 32, 32)
    cams, scores = classifier_cams(model, inputs)
    feats = model.extract_feat(inputs)
    torch.testing.assert_close(cams, model.head.forward_cam(feats))
    torch.testing.assert_close(scores, model.head(feats).sigmoid())
    out = model(inputs, mode='predict')
    assert out[0].pred_cam.shape == (3, 8, 8)  # stage 1: stride 4


def test_a_few_training_steps_fit_multilabel_targets_and_average_precision_reads_them():
    from mmpretrain.evaluation import AveragePrecision
    torch.manual_seed(4)
    model = _classifier(pooling='lse', lse_r=4.0)
    inputs = torch.randn(6, 3, 32, 32)
    labels = [[0], [1, 2], [2], [0, 1], [1], [0, 2]]

    def samples():
        return [DataSample().set_gt_label(lab) for lab in labels]

    optim = torch.optim.Adam(model.parameters(), lr=3e-2)
    losses = []
    model.train()
    for _ in range(30):
        loss = model(inputs, samples(), mode='loss')['loss']
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.25 * losses[0]
    model.eval()
    with torch.no_grad():
        out = model(inputs, samples(), mode='predict')
    metric = AveragePrecision()
    metric.process(None, [s.to_dict() for s in out])
    assert metric.compute_metrics(metric.results)['mAP'] > 90
