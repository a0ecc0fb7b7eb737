"""WSOLMetric: hand-checked values, the data-sample contract, and agreement with a slow reference.

The hand-checked and slow-reference cases pin the ``legacy`` geometry; the ``reference`` default is checked
by hand at the end and against an independent implementation in tests/test_wsol/test_reference_protocol.py.
"""
import cv2
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.structures import DataSample

from scalenet_mm.evaluation.wsol_metric import WSOLMetric

TAUS = [0.0, 0.25, 0.5, 0.75, 1.0]


def pyramid():
    y, x = np.mgrid[0:10, 0:10]
    return np.minimum(np.minimum(y, x), np.minimum(9 - y, 9 - x)).astype(np.float32)


def pyramid_samples(exclusive=False):
    """The three hand-checked images of test_localization_metrics (GT areas 100 %, 16 %, 64 %)."""
    gts = [[0, 0, 9, 9], [3, 3, 6, 6], [1, 1, 8, 8]]
    labels = [(0, 1), (1, 1), (2, 2)]  # (gt, pred): top-1 wrong, right, right
    samples = []
    for gt, (gl, pl) in zip(gts, labels):
        box = np.array([gt], dtype=np.float32) + (np.array([0, 0, 1, 1]) if exclusive else 0)
        ds = DataSample().set_gt_label(gl).set_pred_label(pl)
        ds.set_metainfo(dict(ori_shape=(10, 10)))
        ds.pred_cam = torch.from_numpy(pyramid())
        ds.gt_bboxes = torch.from_numpy(box)
        samples.append(ds)
    return samples


def test_metric_hand_values_and_buckets():
    metric = WSOLMetric(
        thresholds=TAUS,
        multi_contour=False,
        size_buckets=dict(small=(0, 0.1), medium=(0.1, 0.3), large=(0.3, 1.0)),
        return_curves=True, protocol='legacy')
    metric.process(None, pyramid_samples())
    res = metric.evaluate(size=3)
    assert res['wsol/MaxBoxAcc'] == pytest.approx(200 / 3)
    assert res['wsol/MaxBoxAccV2'] == pytest.approx((100 + 200 / 3 + 100 / 3) / 3)
    assert res['wsol/MaxBoxAcc@IoU0.3'] == pytest.approx(100.0) and res['wsol/best_tau@IoU0.3'] == 0.5
    assert res['wsol/best_tau@IoU0.7'] == 0.0 and res['wsol/best_tau'] == 0.0
    assert res['wsol/GT-known_Loc'] == pytest.approx(200 / 3)
    assert res['wsol/Top-1_Loc'] == pytest.approx(100 / 3)
    assert res['wsol/num_samples'] == 3
    np.testing.assert_allclose(res['wsol/curve/BoxAcc@IoU0.5'], [200 / 3, 200 / 3, 100 / 3, 100 / 3, 0])
    assert res['wsol/curve/tau'] == TAUS
    # buckets by GT area fraction: medium = image 2 (0.16), large = images 1 and 3 (1.0, 0.64)
    assert res['wsol/small/num_samples'] == 0 and 'wsol/small/MaxBoxAccV2' not in res
    assert res['wsol/medium/num_samples'] == 1 and res['wsol/large/num_samples'] == 2
    # image 2 alone: IoU 1.0 at tau .75 -> 100 at every IoU threshold (tau re-optimised) ...
    assert res['wsol/medium/MaxBoxAccV2'] == pytest.approx(100.0)
    # ... but at the global operating point tau* = 0 its IoU is .16: a miss
    assert res['wsol/medium/GT-known_Loc'] == 0.0
    assert res['wsol/large/MaxBoxAccV2'] == pytest.approx((100 + 100 + 50) / 3)
    assert res['wsol/large/GT-known_Loc'] == pytest.approx(100.0)
    assert res['wsol/large/Top-1_Loc'] == pytest.approx(50.0)
    # bucket GT-known Loc at the shared tau* averages back to the global value
    assert (0 * 1 + 100 * 2) / 3 == pytest.approx(res['wsol/GT-known_Loc'])
    assert metric.results == []  # evaluate() resets


def test_exclusive_boxes_dicts_and_all_class_cams_through_evaluator():
    metric = WSOLMetric(thresholds=TAUS, multi_contour=False, gt_bbox_format='exclusive', prefix='loc',
                        protocol='legacy')
    evaluator = Evaluator(metric)
    samples = pyramid_samples(exclusive=True)
    # one sample as a plain dict carrying (C, H, W) CAMs of all classes: channel gt_label is used
    d = samples[2].to_dict()
    stack = np.zeros((3, 10, 10), dtype=np.float32)
    stack[2] = pyramid()  # channels 0 and 1 are constant: any of them would be a miss everywhere
    d['pred_cam'] = stack
    # and pred_score instead of pred_label
    del d['pred_label']
    d['pred_score'] = torch.tensor([0.1, 0.2, 0.7])
    evaluator.process([samples[0], samples[1], d])
    res = evaluator.evaluate(3)
    assert res['loc/MaxBoxAcc'] == pytest.approx(200 / 3)
    assert res['loc/Top-1_Loc'] == pytest.approx(100 / 3)


def test_eval_size_rescales_inclusive_boxes_and_masks():
    # nearest 2x upsampling of the pyramid doubles every ring; GT [3,3,6,6] must become [6,6,13,13]
    # (inclusive extents: x1' = (x1 + 1) * 2 - 1), which is exactly the tau = .75 box again
    metric = WSOLMetric(thresholds=TAUS, multi_contour=False, eval_size=(20, 20), interpolation='nearest',
                        protocol='legacy')
    metric.process(None, pyramid_samples())
    res = metric.evaluate(3)
    assert res['wsol/MaxBoxAcc@IoU0.3'] == pytest.approx(100.0)
    assert res['wsol/MaxBoxAccV2'] == pytest.approx((100 + 200 / 3 + 100 / 3) / 3)
    assert res['wsol/MaxBoxAcc@IoU0.7'] == pytest.approx(100 / 3)
    assert res['wsol/Top-1_Loc'] == pytest.approx(100 / 3)
    # masks are resized with nearest neighbour: a 1 x 4 problem evaluated at 2 x 8 gives the same PxAP
    cam = np.array([[0.0, 0.2, 0.6, 1.0]])
    pxap = WSOLMetric(thresholds=[0.0, 0.5, 0.8], eval_size=(2, 8), interpolation='nearest', protocol='legacy')
    pxap.process(None, [dict(pred_cam=cam, ori_shape=(1, 4), gt_mask=np.array([[0, 1, 0, 1]], dtype=np.uint8))])
    assert pxap.evaluate(1)['wsol/PxAP'] == pytest.approx(75.0)


def test_registered_in_both_libraries():
    from mmdet.registry import METRICS as DET_METRICS
    from mmpretrain.registry import METRICS as PRE_METRICS
    for registry in (PRE_METRICS, DET_METRICS):
        m = registry.build(dict(type='WSOLMetric', threshold_step=0.001))
        assert isinstance(m, WSOLMetric) and m.thresholds.size == 1000 and m.prefix == 'wsol'


def test_contract_errors_masks_and_skipping():
    metric = WSOLMetric(thresholds=TAUS, protocol='legacy')
    with pytest.raises(KeyError, match='pred_cam'):
        metric.process(None, [dict(ori_shape=(10, 10), gt_bboxes=[[0, 0, 9, 9]])])
    with pytest.raises(KeyError, match='ori_shape'):
        metric.process(None, [dict(pred_cam=pyramid(), gt_bboxes=[[0, 0, 9, 9]])])
    bad = pyramid()
    bad[3, 3] = np.inf
    with pytest.raises(ValueError, match='Inf'):
        metric.process(None, [dict(pred_cam=bad, ori_shape=(10, 10), gt_bboxes=[[0, 0, 9, 9]])])
    with pytest.raises(ValueError, match='neither'):
        metric.process(None, [dict(pred_cam=pyramid(), ori_shape=(10, 10), gt_bboxes=np.zeros((0, 4)))])
    with pytest.raises(ValueError, match='gt_label'):
        metric.process(None, [dict(pred_cam=np.zeros((3, 4, 4)), ori_shape=(4, 4), gt_bboxes=[[0, 0, 1, 1]])])

    skip = WSOLMetric(thresholds=[0.0, 0.5, 0.8], empty_gt='skip', protocol='legacy')
    cam = np.array([[0.0, 0.2, 0.6, 1.0]])
    skip.process(None, [
        dict(pred_cam=cam, ori_shape=(1, 4), gt_mask=np.array([[0, 1, 0, 1]])),  # masks only -> PxAP
        dict(pred_cam=cam, ori_shape=(1, 4), gt_bboxes=np.zeros((0, 4))),  # nothing -> skipped
    ])
    res = skip.evaluate(2)
    assert res == {'wsol/PxAP': pytest.approx(75.0), 'wsol/PxAP_num_samples': 1, 'wsol/num_skipped': 1}


# --------------------------------------------------------------------- slow reference comparison


def ref_normalise(a):
    lo, hi = a.min(), a.max()
    return None if not hi > lo else (a - lo) / (hi - lo)


def ref_candidates(mask):
    """(contour area, bounding-rect area, box) of every contour; box from the contour points."""
    contours = cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[-2]
    out = []
    for c in contours:
        pts = c.reshape(-1, 2).astype(np.float64)
        twice_area = 0.0
        for i in range(len(pts)):  # shoelace
            x0, y0 = pts[i]
            x1, y1 = pts[(i + 1) % len(pts)]
            twice_area += x0 * y1 - x1 * y0
        box = [int(pts[:, 0].min()), int(pts[:, 1].min()), int(pts[:, 0].max()), int(pts[:, 1].max())]
        out.append((abs(twice_area) / 2, (box[2] - box[0] + 1) * (box[3] - box[1] + 1), box))
    return out


def ref_raster_iou(a, b, h, w):
    ma = np.zeros((h, w), dtype=bool)
    mb = np.zeros((h, w), dtype=bool)
    ma[a[1]:a[3] + 1, a[0]:a[2] + 1] = True
    mb[b[1]:b[3] + 1, b[0]:b[2] + 1] = True
    return (ma & mb).sum() / (ma | mb).sum()


def reference(samples, taus, iou_thrs, buckets):
    """Straightforward per-image, per-threshold, per-box, per-GT loops (both contour protocols)."""
    rows = {False: [], True: []}
    for s in samples:
        cam, h, w, gts = s['cam'], s['h'], s['w'], s['gts']
        norm = ref_normalise(cam.astype(np.float64))
        if norm is not None and norm.shape != (h, w):
            norm = ref_normalise(cv2.resize(norm, (w, h), interpolation=cv2.INTER_LINEAR))
        best = {False: [0.0] * len(taus), True: [0.0] * len(taus)}
        for t, tau in enumerate(taus):
            if norm is None:
                continue
            mask = np.zeros((h, w), dtype=np.uint8)
            for y in range(h):
                for x in range(w):
                    if norm[y, x] >= tau:
                        mask[y, x] = 1
            if mask.sum() == 0:
                continue
            cands = ref_candidates(mask)
            largest = cands[0]
            for c in cands[1:]:
                if (c[0], c[1]) > (largest[0], largest[1]):
                    largest = c
            for multi, boxes in ((False, [largest[2]]), (True, [c[2] for c in cands])):
                for box in boxes:
                    for gt in gts:
                        best[multi][t] = max(best[multi][t], ref_raster_iou(box, gt, h, w))
        area = max((g[2] - g[0] + 1) * (g[3] - g[1] + 1) for g in gts) / (h * w)
        for multi in (False, True):
            rows[multi].append((best[multi], s['gt_label'] == s['pred_label'], area))

    def summarise(rs, fixed_t=None):
        n = len(rs)
        out, best_t = {}, {}
        for delta in sorted(set(iou_thrs) | {0.5}):
            curve = [100.0 * sum(1 for ious, _, _ in rs if ious[t] >= delta) / n for t in range(len(taus))]
            bt = 0
            for t in range(len(taus)):
                if curve[t] > curve[bt]:
                    bt = t
            best_t[delta] = bt
            out[f'MaxBoxAcc@IoU{delta:g}'] = curve[bt]
            out[f'best_tau@IoU{delta:g}'] = taus[bt]
            out[f'curve/BoxAcc@IoU{delta:g}'] = curve
        out['MaxBoxAcc'] = out['MaxBoxAcc@IoU0.5']
        out['MaxBoxAccV2'] = sum(out[f'MaxBoxAcc@IoU{d:g}'] for d in iou_thrs) / len(iou_thrs)
        ts = best_t[0.5] if fixed_t is None else fixed_t
        out['best_tau'] = taus[best_t[0.5]]
        out['GT-known_Loc'] = 100.0 * sum(1 for ious, _, _ in rs if ious[ts] >= 0.5) / n
        out['Top-1_Loc'] = 100.0 * sum(1 for ious, ok, _ in rs if ok and ious[ts] >= 0.5) / n
        out['curve/Top-1_Loc'] = [
            100.0 * sum(1 for ious, ok, _ in rs if ok and ious[t] >= 0.5) / n for t in range(len(taus))
        ]
        out['num_samples'] = n
        return out, best_t[0.5]

    results = {}
    for multi in (False, True):
        out, t_star = summarise(rows[multi])
        for name, (lo, hi) in buckets.items():
            members = [r for r in rows[multi] if lo < r[2] <= hi]
            out[f'{name}/num_samples'] = len(members)
            if members:
                sub, _ = summarise(members, fixed_t=t_star)
                for key in ('MaxBoxAccV2', 'GT-known_Loc', 'Top-1_Loc'):
                    out[f'{name}/{key}'] = sub[key]
        results[multi] = out
    return results


def random_samples(seed=0, num=12):
    """Seeded CAMs made of a few separated bumps (quantised: plateaus, negative scores) and GT boxes
    placed around a bump (or anywhere), 1-3 per image; one all-zero map, one evaluated unresized."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(num):
        h, w = (int(v) for v in rng.integers(10, 22, size=2))
        ch, cw = (int(v) for v in rng.integers(6, 11, size=2))
        yy, xx = np.mgrid[0:ch, 0:cw]
        cam = 0.1 * rng.random((ch, cw))
        bumps = []
        for _ in range(int(rng.integers(1, 4))):
            cy, cx, s = rng.uniform(0, ch), rng.uniform(0, cw), rng.uniform(0.5, 1.5)
            cam += rng.uniform(0.4, 1.0) * np.exp(-((yy - cy)**2 + (xx - cx)**2) / (2 * s * s))
            bumps.append((cy * h / ch, cx * w / cw, s * h / ch, s * w / cw))
        cam = np.round(cam * 10) / 10 - 0.3
        if i == 3:
            cam[:] = 0.0  # all-zero map: no box, a miss
        gts = []
        for _ in range(int(rng.integers(1, 4))):
            if rng.random() < 0.75:  # around a bump
                cy, cx, sy, sx = bumps[int(rng.integers(len(bumps)))]
                ky, kx = rng.uniform(0.8, 2.5, size=2)
                y0, y1 = int(np.clip(cy - ky * sy, 0, h - 1)), int(np.clip(cy + ky * sy, 0, h - 1))
                x0, x1 = int(np.clip(cx - kx * sx, 0, w - 1)), int(np.clip(cx + kx * sx, 0, w - 1))
            else:
                x0, x1 = sorted(int(v) for v in rng.integers(0, w, size=2))
                y0, y1 = sorted(int(v) for v in rng.integers(0, h, size=2))
            gts.append([x0, y0, x1, y1])
        samples.append(
            dict(cam=cam, h=h, w=w, gts=gts, gt_label=int(rng.integers(0, 3)), pred_label=int(rng.integers(0, 3))))
    # one sample evaluated at the CAM's own size (no resize)
    s = samples[7]
    s['h'], s['w'] = s['cam'].shape
    s['gts'] = [[0, 0, s['w'] - 1, s['h'] - 1], [1, 1, 3, 2]]
    return samples


def to_data_samples(samples):
    out = []
    for i, s in enumerate(samples):
        if i % 2 == 0:  # mmpretrain DataSample with tensors
            ds = DataSample().set_gt_label(s['gt_label']).set_pred_label(s['pred_label'])
            ds.set_metainfo(dict(ori_shape=(s['h'], s['w'])))
            ds.pred_cam = torch.tensor(s['cam'], dtype=torch.float64)
            ds.gt_bboxes = torch.tensor(s['gts'], dtype=torch.float32)
            out.append(ds)
        else:  # plain dict with numpy / python values
            out.append(
                dict(pred_cam=s['cam'], ori_shape=(s['h'], s['w']), gt_bboxes=np.array(s['gts']),
                     gt_label=s['gt_label'], pred_label=torch.tensor([s['pred_label']])))
    return out


@pytest.mark.parametrize('seed', [0, 3])
def test_metric_matches_slow_reference(seed):
    taus = np.arange(0, 1, 0.01)
    buckets = dict(small=(0, 0.15), medium=(0.15, 0.5), large=(0.5, 1.0))
    iou_thrs = (0.3, 0.5, 0.7)
    samples = random_samples(seed)
    ref = reference(samples, list(taus), iou_thrs, buckets)
    for multi in (False, True):
        metric = WSOLMetric(multi_contour=multi, size_buckets=buckets, return_curves=True, prefix='r',
                            protocol='legacy')
        metric.process(None, to_data_samples(samples))
        got = metric.evaluate(len(samples))
        expected = ref[multi]
        for key, value in expected.items():
            assert f'r/{key}' in got, key
            np.testing.assert_allclose(got[f'r/{key}'], value, rtol=0, atol=1e-9, err_msg=f'{key} multi={multi}')
        # the data are not degenerate: different taus per IoU, and the protocols differ somewhere
        assert 0 < expected['MaxBoxAccV2'] < 100
        assert len({expected[f'best_tau@IoU{d}'] for d in iou_thrs}) > 1
    assert any(ref[True][f'curve/BoxAcc@IoU{d}'] != ref[False][f'curve/BoxAcc@IoU{d}'] for d in iou_thrs)


# ------------------------------------------------------------------------------- reference protocol


def test_reference_defaults_and_hand_values_at_the_original_size():
    metric = WSOLMetric()
    assert (metric.protocol, metric.eval_size, metric.thresholds.size, metric.interpolation) == ('reference',
                                                                                                 (224, 224), 1000,
                                                                                                 'bicubic')
    # at the CAM's own size the pyramid's reference boxes are [1,1,9,9], [2,2,8,8], [3,3,7,7], [4,4,6,6] and
    # [0,0,0,0] (see test_localization_metrics.test_reference_pyramid_by_hand)
    metric = WSOLMetric(thresholds=TAUS, eval_size='original', return_curves=True,
                        size_buckets=dict(medium=(0.1, 0.3), large=(0.3, 1.0)))
    metric.process(None, pyramid_samples())
    res = metric.evaluate(3)
    assert res['wsol/MaxBoxAcc'] == pytest.approx(200 / 3) and res['wsol/best_tau'] == 0.0
    assert res['wsol/MaxBoxAccV2'] == pytest.approx((100 + 200 / 3 + 200 / 3) / 3)
    assert res['wsol/best_tau@IoU0.3'] == 0.25
    np.testing.assert_allclose(res['wsol/curve/BoxAcc@IoU0.7'], [200 / 3, 100 / 3, 0, 0, 0])
    # top-1 flags F, T, T; at tau* = 0 images 1 and 3 are localised -> only image 3 counts
    assert res['wsol/GT-known_Loc'] == pytest.approx(200 / 3) and res['wsol/Top-1_Loc'] == pytest.approx(100 / 3)
    # the medium image ([3,3,6,6]) alone peaks at tau .5 (IoU .64) but misses at the global tau* = 0
    assert res['wsol/medium/MaxBoxAccV2'] == pytest.approx((100 + 100 + 0) / 3)
    assert res['wsol/medium/GT-known_Loc'] == 0.0 and res['wsol/large/GT-known_Loc'] == 100.0


def test_reference_resizes_gt_boxes_with_truncation():
    # a 10 x 10 image; at 224 x 224 the GT [4,4,5,5] becomes [int(4 * 22.4), ..., int(5 * 22.4)] =
    # [89, 89, 112, 112]: 24 x 24 = 576 px, area fraction 576 / 224**2 = 0.01148 (the legacy extent rule would
    # give [89.6, 89.6, 133.4, 133.4], 44.8**2 px, 0.0400), which the size buckets reveal
    cam = np.zeros((10, 10))
    cam[4:6, 4:6] = 1.0
    sample = dict(pred_cam=cam, ori_shape=(10, 10), gt_bboxes=np.array([[4, 4, 5, 5]]))
    buckets = dict(truncated=(0.0114, 0.0115), extent=(0.0399, 0.0401))
    metric = WSOLMetric(thresholds=[0.5], size_buckets=buckets)
    metric.process(None, [sample])
    res = metric.evaluate(1)
    assert res['wsol/truncated/num_samples'] == 1 and res['wsol/extent/num_samples'] == 0
    legacy = WSOLMetric(thresholds=[0.5], size_buckets=buckets, eval_size=(224, 224), protocol='legacy')
    legacy.process(None, [sample])
    res = legacy.evaluate(1)
    assert res['wsol/truncated/num_samples'] == 0 and res['wsol/extent/num_samples'] == 1
    with pytest.raises(ValueError, match='non-negative'):
        metric.process(None, [dict(sample, gt_bboxes=np.array([[-2, 4, 5, 5]]))])
    with pytest.raises(ValueError, match='eval_size'):
        WSOLMetric(eval_size='ori_shape')
