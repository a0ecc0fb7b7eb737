"""mean_ci95 / intervals_overlap: Student's t half-widths, one value has no interval, bad input is refused."""
import math

import pytest

from scalenet_mm.evaluation import intervals_overlap, mean_ci95


def test_three_seeds_use_students_t():
    res = mean_ci95([1.0, 2.0, 3.0])
    assert res['mean'] == pytest.approx(2.0) and res['n'] == 3
    # sd = 1, t(0.975, 2) = 4.3027
    assert res['ci95'] == pytest.approx(4.3027 / math.sqrt(3), rel=1e-4)


def test_one_value_has_no_interval_and_never_separates():
    one = mean_ci95([5.0])
    assert one['ci95'] is None
    assert intervals_overlap(one, mean_ci95([50.0, 50.1, 49.9]))


def test_overlap_and_separation():
    a, b = mean_ci95([10.0, 10.5, 9.5]), mean_ci95([20.0, 20.5, 19.5])
    assert not intervals_overlap(a, b)
    assert intervals_overlap(a, mean_ci95([10.2, 12.0, 8.0]))


@pytest.mark.parametrize('values', [[], [1.0, float('nan')]])
def test_refuses_empty_and_nan(values):
    with pytest.raises(ValueError):
        mean_ci95(values)
