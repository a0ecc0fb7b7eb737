"""Peak-based instance boxes: two objects of one class each get a box, shoulders do not."""
import numpy as np
import pytest
from scipy import ndimage

from scalenet_mm.detection import cam_to_boxes, peak_boxes_at_thresholds, peak_detections, peak_instance_boxes
from scalenet_mm.utils.box_geometry import box_iou


def _map(size, rects, sigma=1.0):
    """A map with flat rectangles ``(x0, y0, x1, y1, value)`` (inclusive) lightly blurred."""
    m = np.zeros(size, dtype=np.float64)
    for x0, y0, x1, y1, value in rects:
        m[y0:y1 + 1, x0:x1 + 1] = np.maximum(m[y0:y1 + 1, x0:x1 + 1], value)
    return ndimage.gaussian_filter(m, sigma)


STRONG = (5, 6, 16, 15)
WEAK = (30, 26, 41, 39)


def _two_objects():
    return _map((48, 48), [STRONG + (1.0, ), WEAK + (0.35, )])


def test_two_same_class_objects_get_two_boxes():
    cam = _two_objects()
    # the global rule keeps only the strong object: the weak one peaks below tau times the global maximum
    global_boxes = cam_to_boxes(cam, cam.shape, thr=0.5, multi_contour=True)
    assert len(global_boxes) == 1
    assert box_iou(global_boxes[0], STRONG) > 0.8
    # local normalisation: each peak is thresholded against its own value
    found = peak_instance_boxes(cam, thr=0.5)
    assert len(found.boxes) == 2
    iou = box_iou(found.boxes, np.array([STRONG, WEAK]))
    assert iou[0, 0] > 0.8 and iou[1, 1] > 0.8  # strongest first
    assert iou[0, 1] == 0 and iou[1, 0] == 0
    # each box grew from a peak inside its object
    for (row, col), (x0, y0, x1, y1) in zip(found.peaks, [STRONG, WEAK]):
        assert x0 <= col <= x1 and y0 <= row <= y1


def test_boxes_at_image_size_from_low_resolution_map():
    cam = _map((12, 12), [(1, 1, 3, 3, 1.0), (8, 7, 10, 10, 0.4)], sigma=0.5)
    found = peak_instance_boxes(cam, image_size=(96, 96), thr=0.5)
    assert len(found.boxes) == 2
    assert box_iou(found.boxes[0], [8, 8, 31, 31]) > 0.6
    assert box_iou(found.boxes[1], [64, 56, 87, 87]) > 0.6


def test_shoulder_of_one_object_gives_one_box():
    # one object: a plateau at 0.8 with two bumps (1.0 and 0.9) that never dips below tau * 0.9
    cam = _map((40, 40), [(5, 5, 30, 20, 0.8), (7, 8, 10, 11, 1.0), (24, 12, 27, 16, 0.9)])
    found = peak_instance_boxes(cam, thr=0.5, min_distance=2)
    assert len(found.boxes) == 1
    assert box_iou(found.boxes[0], [5, 5, 30, 20]) > 0.85
    # a higher tau cuts the map between the bumps: then both are instances
    split = peak_instance_boxes(cam, thr=0.95, min_distance=2)
    assert len(split.boxes) == 2


def test_regions_of_kept_peaks_are_disjoint_and_noise_is_ignored():
    rng = np.random.default_rng(0)
    cam = _map((64, 64), [(4, 4, 12, 12, 1.0), (40, 8, 50, 20, 0.6), (20, 40, 34, 56, 0.3)])
    cam += 0.03 * ndimage.gaussian_filter(rng.standard_normal(cam.shape), 2)  # bumps far below min_peak
    found = peak_instance_boxes(cam, thr=0.5, min_peak=0.2)
    assert len(found.boxes) == 3
    iou = box_iou(found.boxes, found.boxes)
    assert np.allclose(iou[~np.eye(3, dtype=bool)], 0)
    # a min_peak above the weakest object drops it
    assert len(peak_instance_boxes(cam, thr=0.5, min_peak=0.45).boxes) == 2


def test_scores_rank_instances_and_scale_with_class_score():
    cam = _two_objects()
    found = peak_instance_boxes(cam, thr=0.5, class_score=0.8)
    assert found.scores[0] > found.scores[1] > 0
    norm = (cam - cam.min()) / (cam.max() - cam.min())
    x0, y0, x1, y1 = found.boxes[1].astype(int)
    assert found.scores[1] == pytest.approx(0.8 * norm[y0:y1 + 1, x0:x1 + 1].mean())


def test_max_instances_min_area_and_constant_map():
    cam = _map((48, 48), [STRONG + (1.0, ), (30, 30, 31, 31, 0.5)], sigma=0.3)
    assert len(peak_instance_boxes(cam, thr=0.5).boxes) == 2
    assert len(peak_instance_boxes(cam, thr=0.5, max_instances=1).boxes) == 1
    small = peak_instance_boxes(cam, thr=0.5, min_area=50)
    assert len(small.boxes) == 1 and box_iou(small.boxes[0], STRONG) > 0.8
    assert peak_instance_boxes(np.full((8, 8), 3.0)).boxes.shape == (0, 4)


@pytest.mark.parametrize('kwargs, match', [(dict(thr=0.0), 'thr'), (dict(thr=1.5), 'thr'),
                                           (dict(min_peak=1.0), 'min_peak'), (dict(min_distance=0), 'min_distance')])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        peak_instance_boxes(_two_objects(), **kwargs)


def test_peak_detections_rank_boxes_within_a_class():
    cams = np.stack([_two_objects(), _map((48, 48), [(20, 20, 30, 30, 1.0)]), np.zeros((48, 48))])
    scores = np.array([0.9, 0.05, 0.6])
    dets = peak_detections(7, cams, scores, category_ids=[3, 5, 9], image_size=(48, 48),
                           thr={3: 0.5, 5: 0.5, 9: 0.5}, score_thr=0.1)
    assert {d['category_id'] for d in dets} == {3}  # 5 is below score_thr, 9's map is constant
    assert len(dets) == 2 and dets[0]['score'] > dets[1]['score']
    assert all(d['image_id'] == 7 and len(d['bbox']) == 4 for d in dets)
    with pytest.raises(ValueError, match='no threshold for categories'):
        peak_detections(7, cams, scores, [3, 5, 9], (48, 48), thr={5: 0.5})


def test_several_thresholds_at_once_equal_one_at_a_time():
    cam = _map((12, 12), [(1, 1, 3, 3, 1.0), (5, 1, 6, 3, 0.7), (8, 7, 10, 10, 0.4)], sigma=0.7)
    taus = [0.1, 0.35, 0.5, 0.8, 1.0]
    together = peak_boxes_at_thresholds(cam, (60, 60), taus, min_distance=2)
    assert len({len(r.boxes) for r in together}) > 1  # the grid does change the instances
    for tau, result in zip(taus, together):
        alone = peak_instance_boxes(cam, (60, 60), thr=tau, min_distance=2)
        for got, expected in zip(result, alone):
            np.testing.assert_array_equal(got, expected)
