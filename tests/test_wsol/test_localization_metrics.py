"""Hand-checked tests of the WSOL accumulators (MaxBoxAcc, MaxBoxAccV2, GT-known / Top-1 Loc, PxAP).

Most cases pin the ``legacy`` geometry (``cam >= tau``, inclusive contour extents); the ``reference`` default
has its own hand-checked cases here and is compared with an independent implementation in
test_reference_protocol.py.
"""
import numpy as np
import pytest

from scalenet_mm.wsol.localization_metrics import (
    BoxAccumulator,
    PxAPAccumulator,
    best_iou_per_threshold,
    pixel_counts_per_threshold,
    resolve_thresholds,
)

TAUS = [0.0, 0.25, 0.5, 0.75, 1.0]


def pyramid():
    """10 x 10 map of concentric square rings: level = distance to the border (0..4).

    Normalised levels are 0, .25, .5, .75, 1, so ``cam >= tau`` for tau in TAUS keeps the
    squares [0,0,9,9], [1,1,8,8], [2,2,7,7], [3,3,6,6], [4,4,5,5] (areas 100, 64, 36, 16, 4).
    """
    y, x = np.mgrid[0:10, 0:10]
    return np.minimum(np.minimum(y, x), np.minimum(9 - y, 9 - x)).astype(np.float64)


# Three images sharing the pyramid CAM, with different GT boxes. IoU per tau (by hand):
#   GT [0,0,9,9] (100 px): 1.0, .64, .36, .16, .04
#   GT [3,3,6,6] ( 16 px): .16, .25, 16/36, 1.0, .25
#   GT [1,1,8,8] ( 64 px): .64, 1.0, 36/64, .25, 4/64
GTS = [[[0, 0, 9, 9]], [[3, 3, 6, 6]], [[1, 1, 8, 8]]]
IOUS = [[1.0, .64, .36, .16, .04], [.16, .25, 16 / 36, 1.0, .25], [.64, 1.0, 36 / 64, .25, 4 / 64]]
# BoxAcc(tau) in % per IoU threshold, counted by hand from IOUS:
CURVE_03 = [200 / 3, 200 / 3, 100.0, 100 / 3, 0.0]
CURVE_05 = [200 / 3, 200 / 3, 100 / 3, 100 / 3, 0.0]
CURVE_07 = [100 / 3, 100 / 3, 0.0, 100 / 3, 0.0]


def test_best_iou_per_threshold_by_hand():
    for gt, ious in zip(GTS, IOUS):
        np.testing.assert_allclose(best_iou_per_threshold(pyramid(), gt, TAUS, protocol='legacy'), ious)


def test_max_box_acc_v2_picks_tau_per_iou_threshold():
    acc = BoxAccumulator(TAUS, protocol='legacy')
    for gt, top1 in zip(GTS, [False, True, True]):
        acc.update(pyramid(), gt, image_size=(10, 10), correct_top1=top1)
    res = acc.compute()
    curves = res['curves']
    assert curves['tau'] == TAUS
    np.testing.assert_allclose(curves['BoxAcc@IoU0.3'], CURVE_03)
    np.testing.assert_allclose(curves['BoxAcc@IoU0.5'], CURVE_05)
    np.testing.assert_allclose(curves['BoxAcc@IoU0.7'], CURVE_07)
    # IoU 0.3 is best at tau 0.5; IoU 0.5 and 0.7 at tau 0 (ties -> smallest tau)
    assert res['MaxBoxAcc@IoU0.3'] == pytest.approx(100.0) and res['best_tau@IoU0.3'] == 0.5
    assert res['MaxBoxAcc@IoU0.5'] == pytest.approx(200 / 3) and res['best_tau@IoU0.5'] == 0.0
    assert res['MaxBoxAcc@IoU0.7'] == pytest.approx(100 / 3) and res['best_tau@IoU0.7'] == 0.0
    assert res['MaxBoxAcc'] == pytest.approx(200 / 3)
    assert res['MaxBoxAccV2'] == pytest.approx((100 + 200 / 3 + 100 / 3) / 3)
    # a single shared tau could do no better than 5/9: V2 really re-optimises tau per IoU
    single_tau_best = max(np.mean([CURVE_03[t], CURVE_05[t], CURVE_07[t]]) for t in range(5))
    assert single_tau_best == pytest.approx(500 / 9)
    assert res['MaxBoxAccV2'] > single_tau_best + 10
    assert res['best_tau'] == 0.0
    assert res['GT-known_Loc'] == pytest.approx(200 / 3)
    # top-1 flags F, T, T: at tau* = 0 only image 3 is both correct and localised
    assert res['Top-1_Loc'] == pytest.approx(100 / 3)
    np.testing.assert_allclose(curves['Top-1_Loc'], [100 / 3] * 4 + [0.0])
    assert res['num_samples'] == 3
    # fixed operating point for subsets
    assert acc.compute(fixed_tau=0.5)['GT-known_Loc'] == pytest.approx(100 / 3)
    with pytest.raises(ValueError, match='grid'):
        acc.compute(fixed_tau=0.3)


def test_top1_missing_or_reset():
    acc = BoxAccumulator(TAUS, protocol='legacy')
    acc.update(pyramid(), GTS[0], correct_top1=True)
    acc.update(pyramid(), GTS[1])  # unknown top-1
    res = acc.compute()
    assert 'Top-1_Loc' not in res and 'Top-1_Loc' not in res['curves']
    acc.reset()
    assert acc.num_samples == 0
    with pytest.raises(ValueError, match='before any update'):
        acc.compute()


def test_all_zero_map_counts_as_miss():
    acc = BoxAccumulator(0.01, multi_contour=True, protocol='legacy')
    # a full-image box would be a perfect hit at tau = 0: it must not be produced
    ious = acc.update(np.zeros((7, 7)), [0, 0, 13, 13], image_size=(14, 14), correct_top1=True)
    np.testing.assert_array_equal(ious, np.zeros((2, 100)))  # (MaxBoxAcc rule, MaxBoxAccV2 rule) x tau
    res = acc.compute()
    assert res['MaxBoxAcc'] == 0.0 and res['MaxBoxAccV2'] == 0.0 and res['Top-1_Loc'] == 0.0
    acc.update(np.ones((7, 7)), [0, 0, 13, 13], image_size=(14, 14), correct_top1=True)
    assert acc.compute()['MaxBoxAcc'] == 0.0  # constant non-zero map: also no box


def test_nan_map_raises():
    acc = BoxAccumulator(protocol='legacy')
    cam = pyramid()
    cam[0, 0] = np.nan
    with pytest.raises(ValueError, match='NaN'):
        acc.update(cam, GTS[0])
    assert acc.num_samples == 0


def test_multi_contour_and_multiple_gt_boxes():
    cam = np.zeros((5, 9))
    cam[1:4, 1:3] = 1.0  # small strong blob [1,1,2,3]
    cam[0:5, 5:9] = 0.6  # large weak blob [5,0,8,4]
    small_gt = [1, 1, 2, 3]
    single = BoxAccumulator([0.5], iou_thresholds=(0.5, ), protocol='legacy')
    multi = BoxAccumulator([0.5], iou_thresholds=(0.5, ), multi_contour=True, protocol='legacy')
    single.update(cam, small_gt)
    multi.update(cam, small_gt)
    assert single.compute()['MaxBoxAcc'] == 0.0  # largest contour only: the big blob, IoU 0
    assert multi.compute()['MaxBoxAcc'] == 100.0  # the small blob's box counts
    # several GT boxes: a match with any of them is enough, in any order
    for gts in ([[5, 0, 8, 4], small_gt], [small_gt, [5, 0, 8, 4]]):
        np.testing.assert_allclose(best_iou_per_threshold(cam, gts, [0.5], protocol='legacy'), [1.0])


def test_resize_to_image_size_uses_height_width():
    cam = np.array([[0.0, 0.0], [0.0, 5.0]])
    # nearest upsampling of the hot pixel to 4 x 6 covers x 3..5, y 2..3
    ious = best_iou_per_threshold(cam, [3, 2, 5, 3], [0.5], image_size=(4, 6), interpolation='nearest',
                                  protocol='legacy')
    np.testing.assert_allclose(ious, [1.0])
    swapped = best_iou_per_threshold(cam, [3, 2, 5, 3], [0.5], image_size=(6, 4), interpolation='nearest',
                                     protocol='legacy')
    assert swapped[0] < 0.5


def test_threshold_specs_and_validation():
    assert resolve_thresholds(None).size == 100
    assert resolve_thresholds(0.001).size == 1000
    np.testing.assert_array_equal(resolve_thresholds([0.5, 0.1, 0.5]), [0.1, 0.5])
    assert BoxAccumulator(0.001, protocol='legacy').thresholds.size == 1000
    with pytest.raises(ValueError):
        BoxAccumulator(iou_thresholds=(0.0, 0.5), protocol='legacy')
    with pytest.raises(ValueError, match='GT box'):
        best_iou_per_threshold(pyramid(), np.zeros((0, 4)), TAUS, protocol='legacy')


def test_hits_vectorised_equals_loop():
    acc = BoxAccumulator(TAUS, iou_thresholds=(0.3, 0.7), protocol='legacy')
    assert acc.deltas.tolist() == [0.3, 0.5, 0.7]  # 0.5 always evaluated
    hits = acc.hits_from_ious(IOUS[2])
    for d, delta in enumerate(acc.deltas):
        for t, iou in enumerate(IOUS[2]):
            assert hits[d, t] == (iou >= delta)
    acc.add_hits(hits, correct_top1=True)
    res = acc.compute()
    assert res['MaxBoxAccV2'] == 100.0  # mean over 0.3 and 0.7 only
    assert 'MaxBoxAcc@IoU0.5' in res and res['MaxBoxAcc'] == 100.0


# ----------------------------------------------------------------------------------------- PxAP


def test_pxap_by_hand():
    cam = np.array([[0.0, 0.2, 0.6, 1.0]])
    mask = np.array([[0, 1, 0, 1]])
    # tau 0: TP 2 FP 2 (P .5, R 1); tau .5: TP 1 FP 1 (P .5, R .5); tau .8: TP 1 FP 0 (P 1, R .5)
    tp, fp, pos, neg = pixel_counts_per_threshold(cam, mask, [0.0, 0.5, 0.8], protocol='legacy')
    assert tp.tolist() == [2, 1, 1] and fp.tolist() == [2, 1, 0] and (pos, neg) == (2, 2)
    acc = PxAPAccumulator([0.0, 0.5, 0.8], protocol='legacy')
    acc.update(cam, mask)
    res = acc.compute()
    # (1 - .5) * .5 + (.5 - .5) * .5 + (.5 - 0) * 1 = .75
    assert res['PxAP'] == pytest.approx(75.0)
    np.testing.assert_allclose(res['curves']['precision'], [0.5, 0.5, 1.0])
    np.testing.assert_allclose(res['curves']['recall'], [1.0, 0.5, 0.5])
    coarse = PxAPAccumulator([0.0, 0.5], protocol='legacy')
    coarse.update(cam, mask)
    assert coarse.compute()['PxAP'] == pytest.approx(50.0)  # .5 * .5 + .5 * .5


def test_pxap_ignore_index_pooling_and_constant_map():
    cam = np.array([[0.0, 0.2, 0.6, 1.0]])
    acc = PxAPAccumulator([0.0, 0.5, 0.8], ignore_index=255, protocol='legacy')
    acc.update(cam, np.array([[0, 1, 255, 1]]))  # the 0.6 pixel is ignored
    # tau 0: TP 2 FP 1 (P 2/3, R 1); tau .5 and .8: TP 1 FP 0 (P 1, R .5) -> .5 * 2/3 + .5 * 1
    assert acc.compute()['PxAP'] == pytest.approx(100 * (1 / 3 + 1 / 2))
    # pooling: a constant map adds 2 object pixels it never finds -> recall halves
    acc.update(np.zeros((1, 4)), np.array([[1, 1, 0, 0]]))
    # tau 0: TP 2 FP 1 (P 2/3, R .5); tau .5, .8: TP 1 FP 0 (P 1, R .25) -> .25 * 2/3 + .25 * 1
    assert acc.compute()['PxAP'] == pytest.approx(100 * (0.25 * 2 / 3 + 0.25))
    perfect = PxAPAccumulator(0.01, protocol='legacy')
    mask = np.zeros((6, 6), dtype=bool)
    mask[1:4, 2:5] = True
    perfect.update(mask.astype(float), mask)
    assert perfect.compute()['PxAP'] == pytest.approx(100.0)


# ------------------------------------------------------------------------- the reference protocol


def test_reference_pyramid_by_hand():
    # levels 0..4 normalise to 0, .25, .5, .75, 1 -> 8 bits 0, 63, 127, 191, 255; at tau the foreground is
    # u8 > int(tau * 255) = 0, 63, 127, 191, 255 (strict), i.e. levels >= 1, 2, 3, 4 and nothing. Each box is
    # [x, y, x + w, y + h] clipped to 9: [1,1,9,9], [2,2,8,8], [3,3,7,7], [4,4,6,6], then [0,0,0,0]
    # (81, 49, 25, 9 and 1 pixels inside GT [0,0,9,9]).
    ious = best_iou_per_threshold(pyramid(), [0, 0, 9, 9], TAUS)
    np.testing.assert_allclose(ious, [.81, .49, .25, .09, .01], rtol=0, atol=1e-15)
    acc = BoxAccumulator(TAUS)
    for gt in GTS:
        acc.update(pyramid(), gt, correct_top1=True)
    # GT [3,3,6,6] (16 px): 16/81, 16/49, 16/25, 9/16, 0; GT [1,1,8,8] (64 px): 64/81, 49/64, 25/64, 9/64, 0
    res = acc.compute()
    np.testing.assert_allclose(res['curves']['BoxAcc@IoU0.3'], [200 / 3, 100.0, 200 / 3, 100 / 3, 0.0])
    np.testing.assert_allclose(res['curves']['BoxAcc@IoU0.5'], [200 / 3, 100 / 3, 100 / 3, 100 / 3, 0.0])
    np.testing.assert_allclose(res['curves']['BoxAcc@IoU0.7'], [200 / 3, 100 / 3, 0.0, 0.0, 0.0])
    assert res['MaxBoxAcc'] == pytest.approx(200 / 3) and res['best_tau'] == 0.0
    assert res['best_tau@IoU0.3'] == 0.25
    assert res['MaxBoxAccV2'] == pytest.approx((100 + 200 / 3 + 200 / 3) / 3)
    assert res['GT-known_Loc'] == res['Top-1_Loc'] == res['MaxBoxAcc']


def test_reference_v1_uses_the_largest_contour_and_v2_all_contours():
    cam = np.zeros((5, 9))
    cam[1:4, 1:3] = 1.0  # small strong blob
    cam[0:5, 5:9] = 0.6  # large weak blob
    # at tau 0.5 (cut-off 127 of 255) both blobs are foreground; the small GT box [1,1,2,3] matches only the
    # small blob's reference box [1, 1, 3, 4] (IoU 6 / 12), the largest contour is the big blob
    acc = BoxAccumulator([0.5], iou_thresholds=(0.5, ))
    ious = acc.update(cam, [1, 1, 2, 3])
    np.testing.assert_allclose(ious, [[0.0], [0.5]])
    res = acc.compute()
    assert res['MaxBoxAcc'] == 0.0 and res['MaxBoxAccV2'] == 100.0
    # an explicit rule applies to every number, like one reference evaluator with multi_contour_eval set
    for multi, expected in ((False, 0.0), (True, 100.0)):
        one_rule = BoxAccumulator([0.5], iou_thresholds=(0.5, ), multi_contour=multi)
        one_rule.update(cam, [1, 1, 2, 3])
        assert one_rule.compute()['MaxBoxAcc'] == one_rule.compute()['MaxBoxAccV2'] == expected


def test_reference_constant_and_nan_maps_give_the_origin_box():
    acc = BoxAccumulator(0.01)
    # no contour -> box [0, 0, 0, 0]: a miss for a large GT box, a hit for a GT box on the top-left pixel
    for cam in (np.zeros((7, 7)), np.full((7, 7), 3.0), np.where(np.eye(7) > 0, np.nan, 1.0)):
        np.testing.assert_allclose(acc.image_ious(cam, [0, 0, 13, 13], (14, 14)), 1 / 196)
        np.testing.assert_array_equal(acc.image_ious(cam, [0, 0, 0, 0], (14, 14)), 1.0)
    with pytest.raises(ValueError, match='non-negative'):
        acc.update(pyramid(), [-1, 0, 5, 5])
    with pytest.raises(ValueError, match='x1 >= x0'):
        acc.update(pyramid(), [5, 0, 4, 5])
    assert acc.num_samples == 0


def test_reference_defaults():
    acc = BoxAccumulator()
    assert acc.protocol == 'reference' and acc.thresholds.size == 1000 and acc.interpolation == 'bicubic'
    assert acc.contour_rules == (False, True)
    legacy = BoxAccumulator(protocol='legacy')
    assert legacy.thresholds.size == 100 and legacy.interpolation == 'bilinear' and legacy.contour_rules == (False,
                                                                                                            False)
    with pytest.raises(ValueError, match='protocol'):
        BoxAccumulator(protocol='v2')


def test_reference_pxap_by_hand():
    cam = np.array([[0.0, 0.2, 0.6, 1.0]])
    mask = np.array([[0, 1, 0, 1]])
    # thresholds 0, .5, .8 plus the reference's 1.0 (and 2.0): from the top, (TP, FP) = (0, 0) at 2,
    # (1, 0) at 1 (P 1, R .5), (1, 0) at .8, (1, 1) at .5 (P .5), (2, 2) at 0 (P .5, R 1)
    # -> 1 * .5 + 1 * 0 + .5 * 0 + .5 * .5 = .75
    acc = PxAPAccumulator([0.0, 0.5, 0.8])
    acc.update(cam, mask)
    assert acc.compute()['PxAP'] == pytest.approx(75.0)
    coarse = PxAPAccumulator([0.0, 0.5])
    coarse.update(cam, mask)
    # (1, 0) at 1.0 (P 1, R .5), (1, 1) at .5 (P .5), (2, 2) at 0 (P .5, R 1) -> .5 + .25: the 1.0 point counts
    assert coarse.compute()['PxAP'] == pytest.approx(75.0)
    # grid values from 1 up are the reference's own 1.0 / 2.0 points
    same = PxAPAccumulator([0.0, 0.5, 1.0, 1.5])
    same.update(cam, mask)
    assert same.compute()['PxAP'] == pytest.approx(75.0) and same.compute()['curves']['tau'] == [0, 0.5, 1, 2]
    with pytest.raises(ValueError, match='below 1'):
        PxAPAccumulator([1.0, 1.5])


def test_gt_boxes_in_original_pixels_are_resized_by_the_protocol_rule():
    cam = pyramid()
    # [3,3,6,6] of a 10 x 10 image at 224 x 224: truncation gives [67, 67, 134, 134] (reference),
    # inclusive extents [67.2, 67.2, 155.8, 155.8] (legacy)
    for protocol, resized in (('reference', [67, 67, 134, 134]), ('legacy', [67.2, 67.2, 155.8, 155.8])):
        acc = BoxAccumulator(TAUS, protocol=protocol)
        np.testing.assert_allclose(acc.resize_gt([3, 3, 6, 6], (10, 10), (224, 224)), [resized])
        np.testing.assert_allclose(acc.image_ious(cam, [3, 3, 6, 6], (224, 224), ori_size=(10, 10)),
                                   acc.image_ious(cam, [resized], (224, 224)), rtol=1e-12)
    with pytest.raises(ValueError, match='image_size'):
        acc.update(cam, [3, 3, 6, 6], ori_size=(10, 10))
