"""Statistics behind ``significance`` and ``band`` (no scipy: the normal tail is math.erfc)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def one_proportion_p(p: float, trials: float, p0: float, *, lower: bool) -> float:
    """One-sided p-value that the true proportion is below (``lower``) or above ``p0``, given
    ``p`` observed over ``trials`` (z-test with the null's standard error)."""
    if trials <= 0:
        return 1.0
    p0c = min(max(p0, 1e-12), 1 - 1e-12)
    se = math.sqrt(p0c * (1 - p0c) / trials)
    z = (p - p0) / se
    return normal_sf(-z) if lower else normal_sf(z)


def two_proportion_p(p1: float, n1: float, p2: float, n2: float, *, lower: bool) -> float:
    """One-sided p-value of the pooled two-proportion z-test that proportion 1 is below
    (``lower``) or above proportion 2."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0 if p1 == p2 else 0.0
    z = (p1 - p2) / se
    return normal_sf(-z) if lower else normal_sf(z)


def mean_std_limits(history: Sequence[float], k: float) -> tuple[float, float, float]:
    """(center, low, high): mean ± k sample standard deviations."""
    mean = math.fsum(history) / len(history)
    var = math.fsum((x - mean) ** 2 for x in history) / (len(history) - 1)
    sd = math.sqrt(var)
    return mean, mean - k * sd, mean + k * sd


def ewma_limits(history: Sequence[float], k: float, alpha: float) -> tuple[float, float, float]:
    """(center, low, high): exponentially weighted mean ± k exponentially weighted std."""
    mean = history[0]
    var = 0.0
    for x in history[1:]:
        diff = x - mean
        incr = alpha * diff
        mean += incr
        var = (1 - alpha) * (var + diff * incr)
    sd = math.sqrt(var)
    return mean, mean - k * sd, mean + k * sd
