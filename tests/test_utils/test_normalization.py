"""The one per-map min-max normalisation (numpy and torch, single maps and batches)."""
import numpy as np
import pytest
import torch

from scalenet_mm.utils.normalization import minmax_normalize


def test_single_map_hand_values_and_exact_range():
    cam = np.array([[2.0, 4.0], [6.0, 10.0]])
    out = minmax_normalize(cam)
    np.testing.assert_array_equal(out, [[0.0, 0.25], [0.5, 1.0]])
    assert out.dtype == np.float64 and out.min() == 0.0 and out.max() == 1.0
    np.testing.assert_array_equal(cam, [[2.0, 4.0], [6.0, 10.0]])  # input untouched


def test_bit_identical_to_in_place_subtract_then_divide():
    # the reference normalises with ``cam -= cam.min(); cam /= cam.max()``; ours must give the same bits
    rng = np.random.default_rng(0)
    for _ in range(50):
        cam = rng.normal(size=(7, 9)) * 10 ** rng.uniform(-3, 3) + rng.normal() * 100
        ref = cam.copy()
        ref -= ref.min()
        ref /= ref.max()
        assert np.array_equal(minmax_normalize(cam), ref)


def test_batch_is_per_map_and_uninformative_maps_are_zero():
    maps = np.stack([
        np.arange(12.0).reshape(3, 4),           # ordinary map
        np.full((3, 4), 7.5),                    # constant
        np.where(np.eye(3, 4) > 0, np.nan, 1.0),  # NaN
        np.where(np.eye(3, 4) > 0, np.inf, 1.0),  # Inf
        -np.arange(12.0).reshape(3, 4) * 3,      # another ordinary map: its own range
    ])
    out = minmax_normalize(maps)
    assert out.shape == maps.shape
    np.testing.assert_allclose(out[0], np.arange(12.0).reshape(3, 4) / 11)
    np.testing.assert_array_equal(out[1:4], 0.0)
    np.testing.assert_allclose(out[4], 1 - np.arange(12.0).reshape(3, 4) / 11)
    assert np.isfinite(out).all()


def test_torch_in_torch_out_same_dtype_and_matches_numpy():
    rng = np.random.default_rng(1)
    arr = rng.normal(size=(4, 5, 6)).astype(np.float32)
    arr[2] = 3.0
    t = torch.from_numpy(arr)
    out = minmax_normalize(t)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == t.shape
    np.testing.assert_array_equal(out.numpy(), minmax_normalize(arr))
    assert torch.all(out[2] == 0)
    half = minmax_normalize(t.half())
    assert half.dtype == torch.float16
    assert minmax_normalize(torch.arange(6).reshape(2, 3)).dtype == torch.get_default_dtype()


def test_integer_and_bool_inputs_and_eps():
    np.testing.assert_array_equal(minmax_normalize(np.array([[0, 5], [10, 5]])), [[0, 0.5], [1, 0.5]])
    np.testing.assert_array_equal(minmax_normalize([[True, False]]), [[1.0, 0.0]])
    nearly = np.array([[1.0, 1.0 + 1e-15]])
    assert minmax_normalize(nearly).max() == 1.0
    np.testing.assert_array_equal(minmax_normalize(nearly, eps=1e-12), 0.0)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r'\(H, W\)'):
        minmax_normalize(np.arange(3.0))
    with pytest.raises(ValueError, match='empty'):
        minmax_normalize(np.zeros((2, 0, 3)))
    with pytest.raises(ValueError, match='eps'):
        minmax_normalize(np.zeros((2, 2)), eps=-1)
