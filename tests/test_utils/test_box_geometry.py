"""The one box geometry module: area, IoU (inclusive / exclusive), COCO conversion, resizing, clipping."""
import numpy as np
import pytest
import torch

from scalenet_mm.utils.box_geometry import (
    box_area,
    box_iou,
    check_xyxy,
    clip_boxes,
    resize_boxes,
    xywh_to_xyxy,
    xyxy_to_xywh,
)

# ---------------------------------------------------------------- the reference's self-contained IoU cases


def test_reference_iou_degenerate_zero_boxes_are_single_pixels():
    # clovaai/wsolevaluation: zeros (3, 4) x zeros (5, 4) -> a (3, 5) float matrix of ones
    ious = box_iou(np.zeros((3, 4), dtype=int), np.zeros((5, 4), dtype=int))
    assert isinstance(ious, np.ndarray) and ious.dtype == np.float64 and ious.shape == (3, 5)
    np.testing.assert_array_equal(ious, np.ones((3, 5)))


def test_reference_iou_eye_boxes():
    boxes = np.array([[1, 1, 3, 3], [4, 4, 5, 5]])
    np.testing.assert_array_equal(box_iou(boxes, boxes), np.eye(2))


def test_reference_iou_realistic_value():
    # [1,2,5,6] is 5 x 5 = 25 px, [3,1,4,5] is 2 x 5 = 10 px, overlap x 3..4, y 2..5 = 8 px, union 27
    assert box_iou(np.array([[1, 2, 5, 6]]), np.array([[3, 1, 4, 5]]))[0, 0] == pytest.approx(8 / 27, abs=1e-15)
    assert box_iou([3, 1, 4, 5], [1, 2, 5, 6]) == pytest.approx(8 / 27, abs=1e-15)
    assert np.ndim(box_iou([1, 2, 5, 6], [3, 1, 4, 5])) == 0


def test_reference_box_convention_check():
    with pytest.raises(ValueError, match='x1 >= x0'):
        check_xyxy(np.array([[1, 1, 0, 0]]))
    with pytest.raises(ValueError, match='non-negative'):
        check_xyxy([-1, 0, 3, 3])
    np.testing.assert_array_equal(check_xyxy([-1, 0, 3, 3], non_negative=False), [[-1, 0, 3, 3]])
    with pytest.raises(ValueError, match=r'\(M, 4\)'):
        check_xyxy(np.zeros((2, 2, 4)))


# ----------------------------------------------------------------------------- conventions and shapes


def test_inclusive_and_exclusive_conventions():
    assert box_iou([0, 0, 1, 1], [2, 0, 3, 1]) == 0.0  # adjacent columns
    assert box_iou([0, 0, 2, 1], [2, 0, 3, 1]) == pytest.approx(2 / 8)  # share column 2
    assert box_iou([0, 0, 2, 1], [2, 0, 3, 1], inclusive=False) == 0.0  # touching edges only
    assert box_iou([0, 0, 4, 2], [2, 0, 6, 2], inclusive=False) == pytest.approx(4 / 12)
    np.testing.assert_array_equal(box_area([[3, 3, 3, 3], [0, 0, 4, 1], [2, 0, 1, 0]]), [1, 10, 0])
    np.testing.assert_array_equal(box_area([[3, 3, 3, 3], [0, 0, 4, 1]], inclusive=False), [0, 4])
    assert box_iou([5, 5, 4, 4], [5, 5, 4, 4]) == 0.0  # empty union -> 0, without warnings


def test_pairwise_and_elementwise_shapes():
    a = np.array([[1, 2, 5, 6], [0, 0, 0, 0], [3, 1, 4, 5]])
    b = np.array([[3, 1, 4, 5], [1, 2, 5, 6]])
    m = box_iou(a, b)
    np.testing.assert_allclose(m, [[8 / 27, 1.0], [0.0, 0.0], [1.0, 8 / 27]])
    np.testing.assert_allclose(box_iou(a[0], b), [8 / 27, 1.0])
    np.testing.assert_allclose(box_iou(a[:, None], b[None], pairwise=False), m)
    np.testing.assert_allclose(box_iou(a[:2], b, pairwise=False), [8 / 27, 0.0])
    with pytest.raises(ValueError, match=r'\(\.\.\., 4\)'):
        box_iou([1, 2, 3], [1, 2, 3, 4])


def test_torch_in_torch_out():
    a = torch.tensor([[1, 2, 5, 6]], dtype=torch.float32)
    iou = box_iou(a, np.array([[3, 1, 4, 5]]))
    assert isinstance(iou, torch.Tensor) and iou.dtype == torch.float64 and iou.shape == (1, 1)
    assert float(iou) == pytest.approx(8 / 27)
    assert isinstance(box_area(a), torch.Tensor) and float(box_area(a)) == 25
    assert isinstance(resize_boxes(a, (10, 10), (20, 20)), torch.Tensor)


def test_coco_round_trip():
    xyxy = np.array([[2, 3, 5, 9], [0, 0, 0, 0]])
    np.testing.assert_array_equal(xyxy_to_xywh(xyxy), [[2, 3, 4, 7], [0, 0, 1, 1]])
    np.testing.assert_array_equal(xyxy_to_xywh(xyxy, inclusive=False), [[2, 3, 3, 6], [0, 0, 0, 0]])
    for inclusive in (True, False):
        np.testing.assert_array_equal(xywh_to_xyxy(xyxy_to_xywh(xyxy, inclusive), inclusive), xyxy)


# --------------------------------------------------------------------------------------------- resizing


def test_reference_resize_case():
    # reference: box (1, 2, 4, 3), image (w, h) = (10, 20) -> (35, 10) gives (3, 1, 14, 1); sizes here are (H, W)
    out = resize_boxes([1, 2, 4, 3], (20, 10), (10, 35))
    assert out.tolist() == [3, 1, 14, 1]
    assert resize_boxes([1, 2, 1, 2], (3, 3), (3, 3)).tolist() == [1, 2, 1, 2]  # the degenerate case


def test_truncation_is_the_reference_arithmetic():
    rng = np.random.default_rng(0)
    for _ in range(200):
        h, w = (int(v) for v in rng.integers(1, 1000, size=2))
        x0, x1 = sorted(float(v) for v in rng.uniform(0, w, size=2))
        y0, y1 = sorted(float(v) for v in rng.uniform(0, h, size=2))
        # the reference: new = int(coordinate * new_size / old_size), sizes as (width, height)
        expected = [int(x0 * 224.0 / w), int(y0 * 224.0 / h), int(x1 * 224.0 / w), int(y1 * 224.0 / h)]
        assert resize_boxes([x0, y0, x1, y1], (h, w), (224, 224)).tolist() == expected


def test_extent_and_scale_resizing():
    # inclusive extents: [3, 3, 6, 6] covers pixels 3..6; at 2x it covers 6..13
    assert resize_boxes([3, 3, 6, 6], (10, 10), (20, 20), 'extent').tolist() == [6, 6, 13, 13]
    assert resize_boxes([0, 0, 9, 9], (10, 10), (5, 20), 'extent').tolist() == [0, 0, 19, 4]
    assert resize_boxes([3, 3, 6, 6], (10, 10), (20, 40), 'scale').tolist() == [12, 6, 24, 12]
    with pytest.raises(ValueError, match='method'):
        resize_boxes([0, 0, 1, 1], (2, 2), (4, 4), 'round')
    with pytest.raises(ValueError, match='positive'):
        resize_boxes([0, 0, 1, 1], (0, 2), (4, 4))


def test_clipping():
    boxes = np.array([[-3, -1, 12, 5], [2, 2, 3, 30]])
    np.testing.assert_array_equal(clip_boxes(boxes, (8, 10)), [[0, 0, 9, 5], [2, 2, 3, 7]])
    np.testing.assert_array_equal(clip_boxes(boxes, (8, 10), inclusive=False), [[0, 0, 10, 5], [2, 2, 3, 8]])
