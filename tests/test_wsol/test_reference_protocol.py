"""The reference WSOL protocol (Choe et al., CVPR 2020; clovaai/wsolevaluation), reproduced exactly.

1. The self-contained cases of the reference's ``evaluation_test.py`` (score map -> boxes, IoU, box resizing),
   with their expected numbers.
2. A randomised comparison with an independent, deliberately plain re-implementation of the protocol written
   here from its description (OpenCV calls in per-threshold / per-box / per-GT loops): identical boxes,
   identical MaxBoxAcc / MaxBoxAccV2 / per-IoU accuracies, identical PxAP.
"""
import cv2
import numpy as np
import pytest

from scalenet_mm.evaluation import WSOLMetric
from scalenet_mm.utils.box_geometry import resize_boxes
from scalenet_mm.wsol import (
    REFERENCE_EVAL_SIZE,
    BoxAccumulator,
    PxAPAccumulator,
    boxes_from_cam,
    make_thresholds,
    prepare_cam,
)

# ------------------------------------------------------------------ 1. the reference's own test cases

REF_TAUS = np.arange(0, 1, 0.2)


def first_boxes(score_map):
    return [b[0].tolist() for b in boxes_from_cam(score_map, REF_TAUS)]


def test_reference_case_degenerate_map():
    assert first_boxes(np.zeros((3, 3))) == [[0, 0, 0, 0]] * 5


def test_reference_case_unimodal_map():
    score_map = np.array([[0.0, 0.0, 0.0, 0.0, 0.0],
                          [0.0, 0.4, 0.4, 0.4, 0.6],
                          [0.0, 0.4, 1.0, 0.8, 0.6],
                          [0.0, 0.4, 0.4, 0.4, 0.6]])
    assert first_boxes(score_map) == [[1, 1, 4, 3], [1, 1, 4, 3], [2, 1, 4, 3], [2, 2, 4, 3], [2, 2, 3, 3]]


def test_reference_case_multimodal_map():
    score_map = np.array([[0.4, 0.0, 0.2, 0.2, 0.2],
                          [0.4, 0.4, 0.0, 0.4, 0.0],
                          [0.0, 0.0, 0.0, 0.4, 0.0],
                          [1.0, 0.6, 0.8, 0.2, 0.2]])
    assert first_boxes(score_map) == [[0, 0, 4, 3], [0, 0, 2, 2], [0, 3, 3, 3], [2, 3, 3, 3], [0, 3, 1, 3]]


def test_reference_case_nan_map_raises():
    with pytest.raises(ValueError, match='NaN'):
        boxes_from_cam(np.full((3, 3), np.nan), REF_TAUS)
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        boxes_from_cam(np.array([[0.0, 2.0]]), REF_TAUS)


def test_reference_pxap_cases():
    # the reference's MaskEvaluator cases: a perfect score map has PxAP 100, a constant one (any value) the
    # object-pixel share; here a 2-object mask with an ignored band, at the reference's 224 x 224
    mask = np.zeros(REFERENCE_EVAL_SIZE, dtype=np.uint8)
    mask[20:90, 30:120] = 1
    mask[150:200, 10:40] = 1
    mask[100:110, :] = 255
    pos, neg = int((mask == 1).sum()), int((mask == 0).sum())
    perfect = PxAPAccumulator(0.01, ignore_index=255)
    perfect.update((mask == 1).astype(np.float64), mask)
    assert perfect.compute()['PxAP'] == 100.0
    for value in (0.0, 0.5, 1.0):
        acc = PxAPAccumulator(0.01, ignore_index=255)
        acc.update(np.full(REFERENCE_EVAL_SIZE, value), mask)
        assert acc.compute()['PxAP'] == pytest.approx(100.0 * pos / (pos + neg), abs=1e-9)
    no_object = PxAPAccumulator(0.01)
    no_object.update(np.full((4, 4), 0.5), np.zeros((4, 4)))
    with pytest.raises(ValueError, match='no object pixel'):
        no_object.compute()


# ----------------------------------------------- 2. an independent re-implementation, straight loops


def plain_prepare(cam):
    """Float64, cv2.resize INTER_CUBIC to 224 x 224 (dsize is (w, h)), then the reference normalisation."""
    m = cv2.resize(np.asarray(cam, dtype=np.float64), (224, 224), interpolation=cv2.INTER_CUBIC)
    if np.isnan(m).any():
        return np.zeros_like(m)
    if m.min() == m.max():
        return np.zeros_like(m)
    m = m.copy()
    m -= m.min()
    m /= m.max()
    return m


def plain_boxes(score_map, tau):
    """(all boxes, largest box) of one threshold, as the protocol describes it."""
    height, width = score_map.shape
    gray = np.expand_dims((score_map * 255).astype(np.uint8), 2)
    _, binary = cv2.threshold(gray, int(tau * np.max(gray)), 255, cv2.THRESH_BINARY)
    contours = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[-2]
    if len(contours) == 0:
        return [[0, 0, 0, 0]], [0, 0, 0, 0]

    def box(c):
        x, y, w, h = cv2.boundingRect(c)
        return [x, y, min(x + w, width - 1), min(y + h, height - 1)]

    return [box(c) for c in contours], box(max(contours, key=cv2.contourArea))


def plain_iou(a, b):
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]) + 1)
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
    inter = iw * ih
    union = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - inter
    return inter / union if union > 0 else 0.0


def plain_resize_gt(box, ori_h, ori_w):
    x0, y0, x1, y1 = (float(v) for v in box)
    return [int(x0 * 224.0 / ori_w), int(y0 * 224.0 / ori_h), int(x1 * 224.0 / ori_w), int(y1 * 224.0 / ori_h)]


def plain_evaluate(samples, taus, iou_percents=(30, 50, 70)):
    """MaxBoxAcc (largest contour, IoU 50), MaxBoxAccV2 (all contours, mean over IoUs) and the per-IoU
    accuracy curves, counting correct images per threshold in plain loops."""
    correct = {rule: {p: np.zeros(len(taus)) for p in iou_percents} for rule in ('largest', 'all')}
    for s in samples:
        score_map = plain_prepare(s['cam'])
        gts = [plain_resize_gt(g, s['h'], s['w']) for g in s['gts']]
        for t, tau in enumerate(taus):
            all_boxes, largest = plain_boxes(score_map, tau)
            best = dict(largest=max(plain_iou(largest, g) for g in gts),
                        all=max(plain_iou(b, g) for b in all_boxes for g in gts))
            for rule in ('largest', 'all'):
                for p in iou_percents:
                    if best[rule] >= p / 100:
                        correct[rule][p][t] += 1
    curves = {rule: {p: correct[rule][p] * 100. / float(len(samples)) for p in iou_percents}
              for rule in correct}
    return dict(
        MaxBoxAcc=curves['largest'][50].max(),
        MaxBoxAccV2=np.average([curves['all'][p].max() for p in iou_percents]),
        curves=curves)


def random_cam(rng, kind):
    ch, cw = (int(v) for v in rng.integers(5, 33, size=2))
    yy, xx = np.mgrid[0:ch, 0:cw]
    if kind == 'constant':
        return np.full((ch, cw), float(rng.choice([0.0, 3.7, -1.0])))
    if kind == 'nan':
        cam = rng.random((ch, cw))
        cam[int(rng.integers(ch)), int(rng.integers(cw))] = np.nan
        return cam
    if kind == 'full_size':
        ch = cw = 224
        yy, xx = np.mgrid[0:ch, 0:cw]
    cam = 0.2 * rng.random((ch, cw)) * rng.random()
    for _ in range(int(rng.integers(1, 5))):  # several blobs of different strength and width
        cy, cx = rng.uniform(-0.1, 1.1) * ch, rng.uniform(-0.1, 1.1) * cw
        sigma = rng.uniform(0.3, 0.35 * max(ch, cw))
        cam += rng.uniform(0.2, 1.0) * np.exp(-((yy - cy)**2 + (xx - cx)**2) / (2 * sigma**2))
    if kind == 'plateaus':
        cam = np.round(cam * 4) / 4
    if kind == 'one_pixel':
        cam = np.zeros((ch, cw))
        cam[int(rng.integers(ch)), int(rng.integers(cw))] = 1.0
    return cam * rng.uniform(0.01, 50) - rng.uniform(0, 5)


def random_gt(rng, h, w):
    kind = rng.choice(['tiny', 'image', 'origin', 'any', 'any'])
    if kind == 'tiny':
        x, y = int(rng.integers(w)), int(rng.integers(h))
        return [x, y, min(x + int(rng.integers(0, 3)), w - 1), min(y + int(rng.integers(0, 3)), h - 1)]
    if kind == 'image':
        return [0, 0, w - 1, h - 1]
    if kind == 'origin':  # near the reference's [0, 0, 0, 0] "no contour" box
        return [0, 0, int(rng.integers(0, 3)), int(rng.integers(0, 3))]
    x0, x1 = sorted(float(v) for v in rng.uniform(0, w - 1, size=2))
    y0, y1 = sorted(float(v) for v in rng.uniform(0, h - 1, size=2))
    return [x0, y0, x1, y1]  # float GT boxes, truncated when resized, as in the reference


KINDS = ['blobs'] * 6 + ['plateaus', 'constant', 'nan', 'one_pixel', 'full_size']


def random_samples(seed, num):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(num):
        kind = KINDS[i % len(KINDS)]
        h, w = (int(v) for v in rng.integers(20, 400, size=2))
        if kind == 'full_size' and i % 2:
            h = w = 224
        gts = [random_gt(rng, h, w) for _ in range(int(rng.integers(1, 4)))]
        samples.append(dict(cam=random_cam(rng, kind), h=h, w=w, gts=gts, kind=kind))
    return samples


def check_boxes_identical(seed, num, taus):
    for s in random_samples(seed, num):
        prepared = prepare_cam(s['cam'], REFERENCE_EVAL_SIZE)
        plain = plain_prepare(s['cam'])
        assert np.array_equal(prepared, plain), s['kind']
        largest = boxes_from_cam(prepared, taus)
        every = boxes_from_cam(prepared, taus, multi_contour=True)
        for t, tau in enumerate(taus):
            all_boxes, big = plain_boxes(plain, tau)
            assert largest[t].tolist() == [big], (s['kind'], tau)
            assert every[t].tolist() == all_boxes, (s['kind'], tau)


def test_boxes_identical_to_plain_reimplementation():
    check_boxes_identical(seed=11, num=11, taus=make_thresholds(0.02))


@pytest.mark.slow
def test_boxes_identical_to_plain_reimplementation_many():
    for seed in (12, 13, 14):
        check_boxes_identical(seed, num=44, taus=make_thresholds(0.01))


def test_gt_resize_identical_to_plain_reimplementation():
    for s in random_samples(seed=5, num=40):
        got = resize_boxes(np.array(s['gts'], dtype=np.float64), (s['h'], s['w']), REFERENCE_EVAL_SIZE)
        assert got.tolist() == [plain_resize_gt(g, s['h'], s['w']) for g in s['gts']]


def data_samples(samples):
    return [dict(pred_cam=s['cam'], ori_shape=(s['h'], s['w']), gt_bboxes=np.array(s['gts'], dtype=np.float64),
                 gt_label=0, pred_label=0) for s in samples]


def check_max_box_acc_identical(seed, num, step):
    samples = random_samples(seed, num)
    taus = make_thresholds(step)
    plain = plain_evaluate(samples, taus)
    # through the mmengine metric, from raw CAMs and GT boxes in original-image pixels
    metric = WSOLMetric(threshold_step=step, return_curves=True)
    metric.process(None, data_samples(samples))
    got = metric.evaluate(len(samples))
    assert got['wsol/MaxBoxAcc'] == plain['MaxBoxAcc']
    assert got['wsol/MaxBoxAccV2'] == plain['MaxBoxAccV2']
    for p in (30, 50, 70):
        assert got[f'wsol/MaxBoxAcc@IoU{p / 100:g}'] == plain['curves']['all'][p].max()
        np.testing.assert_array_equal(got[f'wsol/curve/BoxAcc@IoU{p / 100:g}'], plain['curves']['all'][p])
    np.testing.assert_array_equal(got['wsol/curve/BoxAccV1'], plain['curves']['largest'][50])
    # GT-known semantics: the GT-class CAM at the best tau of MaxBoxAcc
    assert got['wsol/GT-known_Loc'] == plain['MaxBoxAcc']
    assert got['wsol/best_tau'] == taus[int(np.argmax(plain['curves']['largest'][50]))]
    # the data exercise both contour rules and several operating points
    assert 0 < plain['MaxBoxAcc'] < 100 and 0 < plain['MaxBoxAccV2'] < 100
    assert any((plain['curves']['all'][p] != plain['curves']['largest'][p]).any() for p in (30, 50, 70))


def test_max_box_acc_identical_to_plain_reimplementation():
    check_max_box_acc_identical(seed=0, num=22, step=0.02)


@pytest.mark.slow
@pytest.mark.parametrize('seed', [1, 2, 3])
def test_max_box_acc_identical_to_plain_reimplementation_many(seed):
    check_max_box_acc_identical(seed, num=66, step=0.01)


def test_fine_grid_default_on_a_few_images():
    samples = random_samples(seed=7, num=3)
    taus = make_thresholds(0.001)
    plain = plain_evaluate(samples, taus)
    metric = WSOLMetric()  # the defaults: reference protocol, 224 x 224, grid step 0.001
    assert metric.thresholds.size == 1000 and metric.eval_size == (224, 224)
    metric.process(None, data_samples(samples))
    got = metric.evaluate(len(samples))
    assert got['wsol/MaxBoxAcc'] == plain['MaxBoxAcc'] and got['wsol/MaxBoxAccV2'] == plain['MaxBoxAccV2']


def test_accuracy_at_a_tau_chosen_on_a_selection_split():
    taus = make_thresholds(0.01)
    selection, test = random_samples(seed=21, num=12), random_samples(seed=22, num=15)
    sel = BoxAccumulator(taus)
    for s in selection:
        sel.update(s['cam'], resize_boxes(np.array(s['gts']), (s['h'], s['w']), (224, 224)), (224, 224))
    chosen = sel.compute()
    acc = BoxAccumulator(taus)
    for s in test:
        acc.update(s['cam'], resize_boxes(np.array(s['gts']), (s['h'], s['w']), (224, 224)), (224, 224),
                   correct_top1=True)
    at_tau = acc.compute(fixed_tau=chosen['best_tau'])
    per_iou = acc.compute(fixed_tau={d: chosen[f'best_tau@IoU{d:g}'] for d in (0.3, 0.5, 0.7)})
    plain = plain_evaluate(test, taus)['curves']
    t50 = int(np.flatnonzero(taus == chosen['best_tau'])[0])
    assert at_tau['GT-known_Loc'] == plain['largest'][50][t50] == at_tau['Top-1_Loc']
    assert at_tau['BoxAccV2'] == np.mean([plain['all'][p][t50] for p in (30, 50, 70)])
    t_of = {p: int(np.flatnonzero(taus == chosen[f'best_tau@IoU{p / 100:g}'])[0]) for p in (30, 50, 70)}
    assert per_iou['BoxAccV2'] == np.mean([plain['all'][p][t_of[p]] for p in (30, 50, 70)])
    # the test split's own optimum can only be at least as good as the borrowed operating point
    assert at_tau['MaxBoxAcc'] >= at_tau['GT-known_Loc'] and at_tau['MaxBoxAccV2'] >= per_iou['BoxAccV2']
    with pytest.raises(ValueError, match='lacks'):
        acc.compute(fixed_tau={0.5: 0.2})


def plain_pxap(cams, masks, taus):
    """The mask evaluator as described: score histograms over thresholds + [1, 2, 3] for object (1) and
    background (0) pixels, pooled, then the area under the precision-recall curve from the top."""
    edges = np.append(taus, [1.0, 2.0, 3.0])
    true_hist = np.zeros(len(edges) - 1)
    false_hist = np.zeros(len(edges) - 1)
    for cam, mask in zip(cams, masks):
        score_map = plain_prepare(cam)
        true_hist += np.histogram(score_map[mask == 1], bins=edges)[0]
        false_hist += np.histogram(score_map[mask == 0], bins=edges)[0]
    tp = true_hist[::-1].cumsum()
    fp = false_hist[::-1].cumsum()
    fn = true_hist.sum() - tp
    nonzero = (tp + fp) != 0
    with np.errstate(invalid='ignore', divide='ignore'):
        precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    return (precision[1:] * np.diff(recall))[nonzero[1:]].sum() * 100


def test_pxap_identical_to_plain_reimplementation():
    rng = np.random.default_rng(3)
    taus = make_thresholds(0.01)
    cams, masks = [], []
    for i in range(8):
        cams.append(random_cam(rng, KINDS[i % len(KINDS)]))
        mask = np.zeros((224, 224), dtype=np.uint8)
        for _ in range(int(rng.integers(1, 3))):
            y0, x0 = (int(v) for v in rng.integers(0, 200, size=2))
            mask[y0:y0 + int(rng.integers(3, 100)), x0:x0 + int(rng.integers(3, 100))] = 1
        mask[int(rng.integers(0, 220)):, :int(rng.integers(0, 10))] = 255  # ignored
        masks.append(mask)
    acc = PxAPAccumulator(taus, ignore_index=255)
    metric = WSOLMetric(threshold_step=0.01, mask_ignore_index=255)
    for cam, mask in zip(cams, masks):
        acc.update(cam, mask)
    metric.process(None, [dict(pred_cam=c, ori_shape=(224, 224), gt_mask=m) for c, m in zip(cams, masks)])
    expected = plain_pxap(cams, masks, taus)
    assert acc.compute()['PxAP'] == expected
    assert metric.evaluate(len(cams))['wsol/PxAP'] == expected
    assert 0 < expected < 100


def test_protocols_differ_and_legacy_is_a_named_option():
    # the same maps scored by both protocols: the legacy geometry (inclusive contour extents, cam >= tau,
    # bilinear resize at the original size) is still available and gives different numbers
    samples = random_samples(seed=4, num=11)
    ref = WSOLMetric(threshold_step=0.01)
    legacy = WSOLMetric(protocol='legacy')
    assert legacy.eval_size is None and legacy.thresholds.size == 100 and legacy.interpolation == 'bilinear'
    ref.process(None, data_samples(samples))
    legacy.process(None, data_samples([s for s in samples if s['kind'] != 'nan']))  # legacy rejects NaN maps
    r, g = ref.evaluate(len(samples)), legacy.evaluate(len(samples))
    assert r['wsol/MaxBoxAccV2'] != g['wsol/MaxBoxAccV2']
    with pytest.raises(ValueError, match='protocol'):
        WSOLMetric(protocol='choe')
