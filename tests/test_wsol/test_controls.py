"""No-learning controls: shapes of the maps, what each one responds to, and that the metric boxes them."""
import numpy as np
import pytest

from scalenet_mm.wsol import BoxAccumulator
from scalenet_mm.wsol.controls import (
    BASELINE_CONTROLS,
    CONTROLS,
    centre_gaussian,
    colour_contrast_map,
    full_image_box,
    gradient_energy_map,
    saturation_map,
)


def _scene(h=48, w=64):
    """A grey background with a vivid, striped square at rows 10-25, columns 30-49."""
    img = np.full((h, w, 3), 120, np.uint8)
    patch = np.zeros((16, 20, 3), np.uint8)
    patch[..., 0] = 230
    patch[::2, :, 1] = 200  # stripes: gradient energy inside the square
    img[10:26, 30:50] = patch
    return img, np.array([[30, 10, 49, 25]], float)


@pytest.mark.parametrize('name', list(CONTROLS))
def test_maps_have_the_image_size(name):
    img, _ = _scene()
    score = CONTROLS[name](img)
    assert score.shape == (48, 64) and score.dtype == np.float32 and np.all(np.isfinite(score))
    assert score.max() > score.min()


def test_priors_ignore_the_content():
    img, _ = _scene()
    other = np.random.default_rng(0).integers(0, 256, img.shape, dtype=np.uint8)
    for fn in (centre_gaussian, full_image_box):
        assert np.array_equal(fn(img), fn(other))
    g = centre_gaussian(img)
    assert np.unravel_index(np.argmax(g), g.shape) in {(23, 31), (23, 32), (24, 31), (24, 32)}
    assert np.allclose(g, g[::-1, ::-1])


@pytest.mark.parametrize('fn', [saturation_map, gradient_energy_map, colour_contrast_map])
def test_image_maps_respond_to_the_object(fn):
    img, _ = _scene()
    score = fn(img)
    assert score[14:22, 35:45].mean() > 3 * score[35:, :20].mean() + 1e-6


def test_boxed_by_the_metric():
    img, gt = _scene()
    results = {}
    for name, fn in CONTROLS.items():
        acc = BoxAccumulator()
        acc.update(fn(img), gt, img.shape[:2])
        results[name] = acc.compute()['MaxBoxAccV2']
    assert results['saturation'] == 100 and results['colour_contrast'] == 100
    assert results['full_image_box'] == 0  # the square covers 10 % of the image
    whole = BoxAccumulator()
    whole.update(full_image_box(img), np.array([[0, 0, 63, 47]], float), img.shape[:2])
    assert whole.compute()['MaxBoxAccV2'] == 100  # it boxes the whole image
    assert set(BASELINE_CONTROLS) <= set(CONTROLS)


def test_bad_input():
    with pytest.raises(ValueError, match='uint8'):
        saturation_map(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        centre_gaussian(np.zeros((8, 8), np.uint8))
