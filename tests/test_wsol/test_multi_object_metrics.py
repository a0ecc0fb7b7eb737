import numpy as np
import pytest

from scalenet_mm.detection import peak_instance_boxes
from scalenet_mm.wsol import cam_mass_shares, instance_recall, pointing_hit, resize_mask


def _disc(size, cy, cx, r):
    yy, xx = np.mgrid[:size, :size]
    return (yy - cy)**2 + (xx - cx)**2 <= r * r


def _bump(size, cy, cx, sigma, height=1.0):
    yy, xx = np.mgrid[:size, :size]
    return height * np.exp(-((yy - cy)**2 + (xx - cx)**2) / (2 * sigma**2))


def test_pointing_hit_counts_the_tolerance_in_pixels_at_the_evaluation_size():
    mask = np.zeros((100, 100), bool)
    mask[40:60, 10:20] = True  # the object ends at column 19
    for col, expected in ((19, True), (34, True), (35, False)):  # 15 px tolerance: column 34 is 15 px away
        cam = np.zeros((100, 100))
        cam[50, col] = 1.0
        assert pointing_hit(cam, mask, eval_size=None) is expected, col
    cam = np.zeros((100, 100))
    cam[50, 34] = 1.0
    assert not pointing_hit(cam, mask, tolerance=10, eval_size=None)


def test_pointing_hit_misses_on_a_constant_map_and_rejects_an_empty_mask():
    mask = _disc(64, 32, 32, 8)
    assert not pointing_hit(np.ones((8, 8)), mask)
    with pytest.raises(ValueError, match='empty'):
        pointing_hit(np.random.rand(8, 8), np.zeros((64, 64), bool))


def test_pointing_hit_resizes_a_low_resolution_map_to_the_evaluation_size():
    mask = _disc(64, 16, 48, 6)  # object in the top right
    cam = np.zeros((8, 8))
    cam[2, 6] = 1.0  # stride-8 cell over the object
    assert pointing_hit(cam, mask)
    cam = np.zeros((8, 8))
    cam[6, 1] = 1.0  # bottom left: far from it
    assert not pointing_hit(cam, mask)


def test_cam_mass_shares_separate_a_class_specific_map_from_one_that_lights_both_objects():
    a, b = _disc(64, 20, 20, 8), _disc(64, 44, 44, 8)
    specific = _bump(64, 20, 20, 4)
    shares = cam_mass_shares(specific, [a, b], eval_size=None)
    assert shares[0] > 0.8 and shares[1] < 0.01
    both = _bump(64, 20, 20, 4) + _bump(64, 44, 44, 4)
    shares = cam_mass_shares(both, [a, b], eval_size=None)
    assert abs(shares[0] - shares[1]) < 0.02 and 0.4 < shares[0] < 0.5
    assert cam_mass_shares(np.full((8, 8), 3.0), [a, b]).tolist() == [0.0, 0.0]


def test_instance_recall_with_the_peaks_of_the_detection_rule():
    a, b = _disc(64, 16, 16, 7), _disc(64, 46, 46, 7)
    two = _bump(64, 16, 16, 4) + _bump(64, 46, 46, 4, height=0.5)  # the weaker instance still has its own peak
    peaks = peak_instance_boxes(two, None, 0.5).peaks
    assert instance_recall(peaks, [a, b]) == (2, 2)
    one = _bump(64, 16, 16, 4)
    assert instance_recall(peak_instance_boxes(one, None, 0.5).peaks, [a, b]) == (1, 2)
    # a single peak on two overlapping instances recalls only one of them
    assert instance_recall([[16, 16]], [a, a]) == (1, 2)
    with pytest.raises(ValueError, match='inside'):
        instance_recall([[70, 3]], [a])


def test_resize_mask_keeps_its_size_and_follows_opencv_nearest():
    mask = _disc(64, 32, 32, 10)
    assert (resize_mask(mask, (64, 64)) == mask).all()
    big = resize_mask(mask, (224, 224))
    assert big.shape == (224, 224) and abs(big.mean() - mask.mean()) < 0.01
    with pytest.raises(ValueError, match='2-D'):
        resize_mask(np.zeros(5, bool), (4, 4))
