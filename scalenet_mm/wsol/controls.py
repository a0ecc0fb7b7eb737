"""No-learning controls: score maps computed from the image alone, scored by the same metric as CAMs.

A localisation benchmark only measures learning if maps that know nothing about the classes score badly on it.
Each control is a function ``image (H, W, 3) uint8 RGB -> map (H, W) float32`` (higher = more object-like);
the metric boxes it exactly like a CAM. They were fixed before benchmark v2 was designed, and the no-learning
gate (:mod:`scalenet_mm.wsol.gates`) compares them on every data set:

* :func:`centre_gaussian` -- a prior with no image content: objects are near the centre.
* :func:`full_image_box` -- a prior with no image content: the object fills the image.
* :func:`saturation_map` -- vivid pixels are objects (HSV saturation).
* :func:`gradient_energy_map` -- textured / edged regions are objects (squared Sobel gradients).
* :func:`colour_contrast_map` -- pixels far in colour from the image's mean colour are objects (global
  contrast in CIE Lab, as frequency-tuned saliency).

The three image-derived maps are smoothed with a Gaussian of ``sigma = SMOOTHING * min(H, W)``, so that pixel
noise does not break their regions into fragments: a control should get its best chance.
"""
from typing import Callable, Dict

import numpy as np

__all__ = ['CONTROLS', 'BASELINE_CONTROLS', 'SMOOTHING', 'centre_gaussian', 'full_image_box', 'saturation_map',
           'gradient_energy_map', 'colour_contrast_map']

SMOOTHING = 1 / 32


def _cv2():
    import cv2
    return cv2


def _check_image(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'a control needs an (H, W, 3) uint8 RGB image, got shape {image.shape} '
                         f'dtype {image.dtype}')
    return image


def _smooth(score: np.ndarray) -> np.ndarray:
    sigma = max(SMOOTHING * min(score.shape), 0.5)
    return _cv2().GaussianBlur(score.astype(np.float32), (0, 0), sigmaX=sigma, sigmaY=sigma)


def centre_gaussian(image) -> np.ndarray:
    """Isotropic Gaussian centred on the image, ``sigma`` = a quarter of the shorter side: thresholding it
    gives centred boxes of every size."""
    h, w = _check_image(image).shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    sigma = 0.25 * min(h, w)
    return np.exp(-(((yy - (h - 1) / 2)**2 + (xx - (w - 1) / 2)**2) / (2 * sigma**2))).astype(np.float32)


def full_image_box(image) -> np.ndarray:
    """Ones except a single zero at the top-left pixel: every threshold below 1 boxes the whole image. (A
    constant map would give no box at all: min-max normalisation turns it into zeros.)"""
    h, w = _check_image(image).shape[:2]
    score = np.ones((h, w), np.float32)
    score[0, 0] = 0.0
    return score


def saturation_map(image) -> np.ndarray:
    """HSV saturation ``(max - min) / max`` of the RGB channels (0 for black), smoothed."""
    rgb = _check_image(image).astype(np.float32)
    hi, lo = rgb.max(axis=2), rgb.min(axis=2)
    sat = np.where(hi > 0, (hi - lo) / np.maximum(hi, 1e-6), 0.0)
    return _smooth(sat)


def gradient_energy_map(image) -> np.ndarray:
    """Sum over the RGB channels of the squared Sobel derivatives, smoothed."""
    cv2 = _cv2()
    rgb = _check_image(image).astype(np.float32) / 255.0
    gx = cv2.Sobel(rgb, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(rgb, cv2.CV_32F, 0, 1, ksize=3)
    return _smooth((gx**2 + gy**2).sum(axis=2))


def colour_contrast_map(image) -> np.ndarray:
    """Euclidean distance in CIE Lab between each (smoothed) pixel and the image's mean colour."""
    cv2 = _cv2()
    rgb = _check_image(image).astype(np.float32) / 255.0
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    sigma = max(SMOOTHING * min(lab.shape[:2]), 0.5)
    blurred = cv2.GaussianBlur(lab, (0, 0), sigmaX=sigma, sigmaY=sigma)
    mean = lab.reshape(-1, 3).mean(axis=0)
    return np.sqrt(((blurred - mean)**2).sum(axis=2)).astype(np.float32)


#: Every control by name, in report order.
CONTROLS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    'centre_gaussian': centre_gaussian,
    'full_image_box': full_image_box,
    'saturation': saturation_map,
    'gradient_energy': gradient_energy_map,
    'colour_contrast': colour_contrast_map,
}
#: The content-free priors the no-learning gate measures the other controls against.
BASELINE_CONTROLS = ('centre_gaussian', 'full_image_box')
