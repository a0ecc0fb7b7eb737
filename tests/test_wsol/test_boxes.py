"""Hand-checked tests of scalenet_mm.wsol.boxes (IoU, normalisation, CAM -> boxes).

The by-hand box cases pin the ``legacy`` geometry; the ``reference`` default has its own cases at the end (and
the reference's own cases plus a randomised comparison in test_reference_protocol.py).
"""
import numpy as np
import pytest
import torch

from scalenet_mm.wsol.boxes import box_area, box_iou, boxes_from_cam, make_thresholds, normalize_cam, prepare_cam

# A unimodal 4 x 5 score map (rows = y, columns = x); min 0, max 8, so normalised = v / 8.
UNIMODAL = np.array([
    [0, 1, 2, 1, 0],
    [1, 3, 5, 3, 1],
    [1, 4, 8, 4, 1],
    [0, 2, 3, 2, 0],
], dtype=np.float64)

# Boxes derived by hand: tau -> pixels with v / 8 >= tau -> [x0, y0, x1, y1] (inclusive).
UNIMODAL_BOXES = {
    0.0: [0, 0, 4, 3],   # every pixel
    0.1: [0, 0, 4, 3],   # v >= 0.8: all non-zero pixels; rows 0 and 3 still reach x = 1..3, rows 1-2 x = 0..4
    0.2: [1, 0, 3, 3],   # v >= 1.6: (x2,y0)=2, x1..3 of rows 1-3
    0.3: [1, 1, 3, 3],   # v >= 2.4: x1..3 of rows 1-2, (x2,y3)=3
    0.5: [1, 1, 3, 2],   # v >= 4 (4/8 == 0.5 exactly is kept: inclusive comparison): 5, 4, 8, 4
    0.6: [2, 1, 2, 2],   # v >= 4.8: 5 and 8
    0.7: [2, 2, 2, 2],   # v >= 5.6: the peak only
    1.0: [2, 2, 2, 2],   # the peak is exactly 1 after normalisation
}


# ------------------------------------------------------------------------------------- box_iou


def test_box_iou_hand_value():
    # [1,2,5,6]: 5 x 5 = 25 px; [3,1,4,5]: 2 x 5 = 10 px; overlap x 3..4, y 2..5 = 8 px; union 27.
    assert box_iou([1, 2, 5, 6], [3, 1, 4, 5]) == pytest.approx(8 / 27, abs=1e-15)
    assert box_iou([3, 1, 4, 5], [1, 2, 5, 6]) == pytest.approx(8 / 27, abs=1e-15)
    assert np.ndim(box_iou([1, 2, 5, 6], [3, 1, 4, 5])) == 0


def test_box_iou_inclusive_edges():
    assert box_iou([0, 0, 3, 3], [0, 0, 3, 3]) == 1.0
    # adjacent columns do not overlap ...
    assert box_iou([0, 0, 1, 1], [2, 0, 3, 1]) == 0.0
    # ... sharing one column does: 6 px and 4 px boxes, 2 px overlap -> 2 / 8
    assert box_iou([0, 0, 2, 1], [2, 0, 3, 1]) == pytest.approx(0.25)
    # single pixel inside a 3 x 3 box
    assert box_iou([4, 4, 4, 4], [3, 3, 5, 5]) == pytest.approx(1 / 9)
    # inverted (empty) boxes have no area and IoU 0, without warnings
    assert box_iou([5, 5, 4, 4], [5, 5, 4, 4]) == 0.0
    np.testing.assert_array_equal(box_area([[3, 3, 3, 3], [0, 0, 4, 1], [2, 0, 1, 0]]), [1, 10, 0])


def test_box_iou_pairwise_and_broadcast_shapes():
    a = np.array([[1, 2, 5, 6], [0, 0, 0, 0], [3, 1, 4, 5]])
    b = np.array([[3, 1, 4, 5], [1, 2, 5, 6]])
    m = box_iou(a, b)
    assert m.shape == (3, 2)
    np.testing.assert_allclose(m, [[8 / 27, 1.0], [0.0, 0.0], [1.0, 8 / 27]])
    # a single box against many -> (M,)
    np.testing.assert_allclose(box_iou(a[0], b), [8 / 27, 1.0])
    assert box_iou(a, b[0]).shape == (3, )
    # element-wise with numpy broadcasting of leading dimensions
    e = box_iou(a[:, None, :], b[None, :, :], pairwise=False)
    np.testing.assert_allclose(e, m)
    np.testing.assert_allclose(box_iou(a[:2], b, pairwise=False), [8 / 27, 0.0])
    with pytest.raises(ValueError):
        box_iou([1, 2, 3], [1, 2, 3, 4])


# ------------------------------------------------------------------------------ normalisation


def test_normalize_cam_minmax_and_constant():
    out = normalize_cam(UNIMODAL, protocol='legacy')
    np.testing.assert_allclose(out, UNIMODAL / 8)
    assert out.min() == 0.0 and out.max() == 1.0
    shifted = normalize_cam(torch.tensor(UNIMODAL * 3 - 7, dtype=torch.float16), protocol='legacy')
    np.testing.assert_allclose(shifted, UNIMODAL / 8, atol=1e-3)
    np.testing.assert_array_equal(normalize_cam(np.zeros((3, 4)), protocol='legacy'), np.zeros((3, 4)))
    np.testing.assert_array_equal(normalize_cam(np.full((3, 4), 2.5), protocol='legacy'), np.zeros((3, 4)))


@pytest.mark.parametrize('bad, word', [(np.nan, 'NaN'), (np.inf, 'Inf'), (-np.inf, 'Inf')])
def test_non_finite_maps_raise(bad, word):
    cam = UNIMODAL.copy()
    cam[1, 1] = bad
    with pytest.raises(ValueError, match=word):
        normalize_cam(cam, protocol='legacy')
    with pytest.raises(ValueError, match=word):
        boxes_from_cam(cam, [0.5], protocol='legacy')
    with pytest.raises(ValueError, match=word):
        prepare_cam(torch.from_numpy(cam), (8, 10), protocol='legacy')


def test_cam_shape_errors():
    with pytest.raises(ValueError, match='2-D'):
        normalize_cam(np.zeros((2, 3, 4)), protocol='legacy')
    with pytest.raises(ValueError, match='empty'):
        normalize_cam(np.zeros((0, 4)), protocol='legacy')


def test_make_thresholds():
    t = make_thresholds()
    assert t.size == 100 and t[0] == 0.0 and t[-1] == pytest.approx(0.99)
    assert make_thresholds(0.001).size == 1000
    with pytest.raises(ValueError):
        make_thresholds(0)


# ------------------------------------------------------------------------------ boxes_from_cam


def test_unimodal_boxes_by_hand():
    taus = list(UNIMODAL_BOXES)
    for multi in (False, True):
        boxes = boxes_from_cam(UNIMODAL, taus, multi_contour=multi, protocol='legacy')
        assert len(boxes) == len(taus)
        for tau, got in zip(taus, boxes):
            assert got.dtype == np.int64 and got.shape == (1, 4), (tau, got)
            assert got[0].tolist() == UNIMODAL_BOXES[tau], f'tau={tau}: {got[0].tolist()}'
    # above the peak nothing is foreground
    empty = boxes_from_cam(UNIMODAL, [1.01], protocol='legacy')[0]
    assert empty.shape == (0, 4)


def test_boxes_do_not_depend_on_threshold_order_or_duplicates():
    taus = [0.7, 0.0, 0.5, 0.5, 0.2, 1.5, 0.3]
    got = boxes_from_cam(UNIMODAL, taus, protocol='legacy')
    for tau, boxes in zip(taus, got):
        expected = UNIMODAL_BOXES.get(tau)
        if expected is None:
            assert boxes.shape == (0, 4)
        else:
            assert boxes.tolist() == [expected]
    # returned arrays are independent copies
    got[2][0, 0] = 99
    assert got[3][0, 0] == 1


@pytest.mark.parametrize('value', [0.0, 3.7, -2.0])
def test_constant_map_yields_no_box(value):
    cam = np.full((6, 7), value)
    boxes = boxes_from_cam(cam, make_thresholds(0.01), multi_contour=True, protocol='legacy')
    assert len(boxes) == 100
    assert all(b.shape == (0, 4) for b in boxes)  # not a full-image box at tau = 0


def two_blobs():
    """5 x 9 map: left blob (value 1.0, 2 x 3 px) and a larger, weaker right blob (0.6, 4 x 5 px)."""
    cam = np.zeros((5, 9))
    cam[1:4, 1:3] = 1.0  # x 1..2, y 1..3 -> [1, 1, 2, 3], 6 px
    cam[0:5, 5:9] = 0.6  # x 5..8, y 0..4 -> [5, 0, 8, 4], 20 px
    return cam


def test_multi_contour_returns_every_box_largest_first():
    cam = two_blobs()
    single = boxes_from_cam(cam, [0.0, 0.5, 0.8], protocol='legacy')
    multi = boxes_from_cam(cam, [0.0, 0.5, 0.8], multi_contour=True, protocol='legacy')
    assert single[0].tolist() == [[0, 0, 8, 4]] and multi[0].tolist() == [[0, 0, 8, 4]]
    assert single[1].tolist() == [[5, 0, 8, 4]]  # the larger contour wins, not the stronger one
    assert multi[1].tolist() == [[5, 0, 8, 4], [1, 1, 2, 3]]
    assert single[2].tolist() == [[1, 1, 2, 3]] and multi[2].tolist() == [[1, 1, 2, 3]]


def test_diagonal_pixels_are_one_region():
    cam = np.zeros((4, 4))
    cam[1, 1] = cam[2, 2] = 1.0  # 8-connected
    assert boxes_from_cam(cam, [0.5], multi_contour=True, protocol='legacy')[0].tolist() == [[1, 1, 2, 2]]
    cam[2, 2] = 0.0
    cam[1, 3] = 1.0  # one empty column between them: two regions
    got = boxes_from_cam(cam, [0.5], multi_contour=True, protocol='legacy')[0].tolist()
    assert sorted(got) == [[1, 1, 1, 1], [3, 1, 3, 1]]


def test_contour_modes_on_ring_with_island():
    cam = np.ones((7, 7))
    cam[2:5, 2:5] = 0.0  # 3 x 3 hole
    cam[3, 3] = 1.0  # island in the hole
    ext = boxes_from_cam(cam, [0.5], multi_contour=True, contour_mode='external', protocol='legacy')[0]
    assert ext.tolist() == [[0, 0, 6, 6]]
    tree = boxes_from_cam(cam, [0.5], multi_contour=True, contour_mode='tree', protocol='legacy')[0]
    # outer border, hole border (ring pixels around the hole) and the island; largest first
    assert tree[0].tolist() == [0, 0, 6, 6]
    assert sorted(tree.tolist()) == [[0, 0, 6, 6], [1, 1, 5, 5], [3, 3, 3, 3]]
    assert boxes_from_cam(cam, [0.5], protocol='legacy')[0].tolist() == [[0, 0, 6, 6]]
    with pytest.raises(ValueError, match='contour_mode'):
        boxes_from_cam(cam, [0.5], contour_mode='list', protocol='legacy')


# -------------------------------------------------------------------------------- prepare_cam


def test_prepare_cam_resizes_to_height_width():
    cam = np.array([[0.0, 0.0], [0.0, 5.0]])
    out = prepare_cam(cam, (4, 6), interpolation='nearest', protocol='legacy')
    assert out.shape == (4, 6)
    expected = np.zeros((4, 6))
    expected[2:, 3:] = 1.0
    np.testing.assert_array_equal(out, expected)
    assert boxes_from_cam(out, [0.5], protocol='legacy')[0].tolist() == [[3, 2, 5, 3]]
    smooth = prepare_cam(cam, (7, 5), interpolation='bicubic', protocol='legacy')
    assert smooth.shape == (7, 5) and smooth.min() == 0.0 and smooth.max() == 1.0
    np.testing.assert_array_equal(prepare_cam(np.zeros((2, 2)), (5, 3), protocol='legacy'), np.zeros((5, 3)))
    np.testing.assert_array_equal(prepare_cam(UNIMODAL, (4, 5), protocol='legacy'), UNIMODAL / 8)  # no-op resize
    with pytest.raises(ValueError, match='interpolation'):
        prepare_cam(cam, (4, 4), interpolation='lanczos', protocol='legacy')


# ----------------------------------------------------------------------------- the reference protocol


def test_reference_normalisation_turns_nan_and_constant_maps_into_zeros():
    for bad in (np.nan, np.inf):
        cam = UNIMODAL.copy()
        cam[1, 1] = bad
        np.testing.assert_array_equal(normalize_cam(cam), np.zeros((4, 5)))
        np.testing.assert_array_equal(prepare_cam(torch.from_numpy(cam), (8, 10)), np.zeros((8, 10)))
    np.testing.assert_array_equal(normalize_cam(UNIMODAL), UNIMODAL / 8)
    np.testing.assert_array_equal(prepare_cam(np.full((3, 3), -4.0), (6, 6)), np.zeros((6, 6)))


def test_reference_prepare_is_bicubic_float64_then_one_normalisation():
    import cv2
    cam = torch.tensor(UNIMODAL * 3 - 7, dtype=torch.float32)
    resized = cv2.resize(cam.numpy().astype(np.float64), (9, 7), interpolation=cv2.INTER_CUBIC)
    expected = (resized - resized.min()) / (resized.max() - resized.min())
    out = prepare_cam(cam, (7, 9))
    assert out.shape == (7, 9) and out.dtype == np.float64
    np.testing.assert_array_equal(out, expected)
    # bicubic overshoot is normalised away after the resize, not before
    assert out.min() == 0.0 and out.max() == 1.0
    np.testing.assert_array_equal(prepare_cam(cam, (7, 9), interpolation='nearest'),
                                  prepare_cam(cam, (7, 9), interpolation='nearest', protocol='legacy'))


def test_reference_boxes_of_the_unimodal_map():
    # 8-bit values of v / 8: 0, 31, 63, 95, 127, 159, 255 for v = 0, 1, 2, 3, 4, 5, 8; the foreground at tau is
    # u8 > int(tau * 255); boxes are [x, y, x + w, y + h] clipped to (4, 3)
    norm = UNIMODAL / 8
    taus = [0.0, 0.2, 0.5, 0.7, 1.0]
    got = [b.tolist() for b in boxes_from_cam(norm, taus)]
    assert got == [
        [[0, 0, 4, 3]],  # > 0: every non-zero pixel, the region x 0..4 / y 0..3 clipped to the border
        [[1, 0, 4, 3]],  # > 51: v >= 2 -> x 1..3, y 0..3 -> [1, 0, 4, 4] clipped to y 3
        [[2, 1, 3, 3]],  # > 127: v >= 5 -> (2, 1) and (2, 2) -> [2, 1, 3, 3]
        [[2, 2, 3, 3]],  # > 178: the peak (2, 2)
        [[0, 0, 0, 0]],  # > 255: nothing
    ]
    multi = boxes_from_cam(norm, taus, multi_contour=True)
    assert [b.tolist() for b in multi] == got
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        boxes_from_cam(UNIMODAL, taus)  # raw scores: the reference takes prepared maps only
    with pytest.raises(ValueError, match='protocol'):
        boxes_from_cam(norm, taus, protocol='choe')
