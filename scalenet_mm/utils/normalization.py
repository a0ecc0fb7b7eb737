"""Per-map min-max normalisation: the one implementation used by CAM evaluation, fusion and pseudo-boxes.

Every map (the last two dimensions of the input) is mapped to ``(map - min) / (max - min)``, so a map with any
variation spans exactly ``[0, 1]``. A map that carries no localisation information becomes all zeros, as in
the reference WSOL evaluation of Choe et al. (CVPR 2020): a *constant* map (``max - min <= eps``; ``eps = 0``
by default, the reference's ``min == max`` test) and a map with any NaN (the reference's ``np.isnan`` test) or
±Inf (for which min-max is undefined). Each map of a batch is judged on its own.

The arithmetic is ``(x - min) / (max - min)`` in the input's floating dtype, which is bit-identical to the
reference's in-place ``x -= x.min(); x /= x.max()`` (rounding is monotonic, so the maximum of ``x - min`` is
the rounded ``max - min``).
"""
from typing import Union

import numpy as np

__all__ = ['minmax_normalize']

try:  # torch is optional for the numpy path
    import torch
except ImportError:  # pragma: no cover - the package depends on torch
    torch = None


def _check_shape(shape) -> None:
    if len(shape) < 2:
        raise ValueError(f'min-max normalisation needs maps of shape (H, W) or (N, H, W), got shape {tuple(shape)}')
    if shape[-1] == 0 or shape[-2] == 0:
        raise ValueError(f'cannot normalise empty maps of shape {tuple(shape)}')


def _normalize_numpy(maps: np.ndarray, eps: float) -> np.ndarray:
    x = np.asarray(maps)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    axes = (-2, -1)
    with np.errstate(invalid='ignore', divide='ignore', over='ignore'):
        lo = np.min(x, axis=axes, keepdims=True)  # NaN propagates into lo / hi
        hi = np.max(x, axis=axes, keepdims=True)
        span = hi - lo
        informative = np.isfinite(x).all(axis=axes, keepdims=True) & (span > eps)
        out = (x - lo) / np.where(informative, span, np.ones_like(span))
    return np.where(informative, out, np.zeros((), dtype=x.dtype)).astype(x.dtype, copy=False)


def _normalize_torch(maps: 'torch.Tensor', eps: float) -> 'torch.Tensor':
    x = maps if maps.is_floating_point() else maps.to(torch.get_default_dtype())
    dims = (-2, -1)
    lo = x.amin(dim=dims, keepdim=True)
    hi = x.amax(dim=dims, keepdim=True)
    span = hi - lo
    informative = torch.isfinite(x).all(dim=-1, keepdim=True).all(dim=-2, keepdim=True) & (span > eps)
    out = (x - lo) / torch.where(informative, span, torch.ones_like(span))
    return torch.where(informative, out, torch.zeros_like(out))


def minmax_normalize(maps: Union[np.ndarray, 'torch.Tensor'], eps: float = 0.0):
    """Min-max normalise each ``(H, W)`` map of ``maps`` to ``[0, 1]``.

    Args:
        maps: ``(H, W)``, ``(N, H, W)`` or any ``(..., H, W)`` numpy array or torch tensor (other array-likes
            are converted with ``np.asarray``). Normalisation runs over the last two dimensions.
        eps: a map counts as constant when ``max - min <= eps``. ``0`` (default) is the reference's exact
            ``min == max`` test; a small positive value also zeroes maps that are constant up to noise.

    Returns:
        Same type, shape and device as ``maps``; floating inputs keep their dtype, integer / bool inputs become
        float64 (numpy) or torch's default dtype. Constant maps and maps with any NaN / ±Inf are all zeros.
        The input is never modified.
    """
    eps = float(eps)
    if not eps >= 0:
        raise ValueError(f'eps must be >= 0, got {eps}')
    if torch is not None and isinstance(maps, torch.Tensor):
        _check_shape(maps.shape)
        return _normalize_torch(maps, eps)
    arr = np.asarray(maps)
    _check_shape(arr.shape)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        arr = arr.astype(np.float64)
    return _normalize_numpy(arr, eps)
