"""Mean and 95 % confidence interval over seeds, the form every multi-seed number of the experiments takes.

The interval is Student's t (two-sided, ``n - 1`` degrees of freedom) on the sample standard deviation: with 3
seeds the half-width is ``4.303 * s / sqrt(3)``. A single value has no interval (``ci95`` is ``None``), so a
one-seed number can never be mistaken for a measured spread.
"""
import math
from typing import Dict, Iterable, Optional

__all__ = ['mean_ci95', 'rounded_ci95', 'intervals_overlap']


def mean_ci95(values: Iterable[float]) -> Dict[str, Optional[float]]:
    """``{'mean', 'ci95' (half-width), 'n', 'values'}`` of finite ``values``; raises on an empty or NaN list."""
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError('mean_ci95 needs at least one value')
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f'mean_ci95: non-finite value in {vals}; a failed run must be rerun, not averaged')
    n = len(vals)
    mean = sum(vals) / n
    ci = None
    if n > 1:
        from scipy.stats import t
        sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1))
        ci = float(t.ppf(0.975, n - 1) * sd / math.sqrt(n))
    return dict(mean=mean, ci95=ci, n=n, values=vals)


def rounded_ci95(values: Iterable[float], digits: int = 2) -> Dict[str, Optional[float]]:
    """``{'mean', 'ci95', 'n'}`` of :func:`mean_ci95`, rounded for a table or a results JSON."""
    res = mean_ci95(values)
    return dict(mean=round(res['mean'], digits), ci95=None if res['ci95'] is None else round(res['ci95'], digits),
                n=res['n'])


def intervals_overlap(a: Dict, b: Dict) -> bool:
    """Whether two :func:`mean_ci95` results are not separated (a missing interval counts as overlapping: one
    seed cannot separate anything)."""
    if a.get('ci95') is None or b.get('ci95') is None:
        return True
    return abs(a['mean'] - b['mean']) <= a['ci95'] + b['ci95']
