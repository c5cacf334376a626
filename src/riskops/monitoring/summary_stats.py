"""Drift statistics from summaries: sorted samples, bin shares, category counts.

The same numbers as ``stats.py`` (tests check they are equal, not close), for
a reference prepared once and compared with many samples: ``monitor compare``
sorts and bins each reference column once, then measures every chunk with
one merge and one histogram instead of re-sorting and re-binning the
reference each time.

    ks_and_wasserstein(ref_sorted, cur_sorted, scale)   # == ks_statistic, wasserstein_scaled
    SortedReference(ref_sorted).compare(cur_sorted)      # the same, O(m log n) for small m
    jensen_shannon_of_shares(ref_shares, cur_shares)    # == jensen_shannon on those bins
    chi_square_of_counts(ref_counts, cur_counts)         # == chi_square on those categories

Inputs are trusted: finite, 1-D, non-empty, sorted where the name says so.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _scipy_stats

from riskops.monitoring.stats import ChiSquareResult, KsResult

__all__ = [
    "SortedReference",
    "chi_square_of_counts",
    "jensen_shannon_of_shares",
    "ks_and_wasserstein",
]

#: A chunk this many times smaller than the reference is searched in it, not merged.
SEARCH_BELOW = 8


def _ks_pvalue(statistic: float, n: int, m: int) -> float:
    en = round(n * m / (n + m))
    return float(np.clip(_scipy_stats.kstwo.sf(statistic, max(en, 1)), 0.0, 1.0))


def ks_and_wasserstein(reference: np.ndarray, current: np.ndarray,
                       scale: float) -> tuple[KsResult, float]:
    """Kolmogorov-Smirnov test and scaled Wasserstein-1 distance of two sorted samples.

    One merge of the two sorted samples (a search of the current values in
    the reference) gives, at every point of either sample, how many values
    of each lie at or below it: the empirical CDFs both statistics read. ``scale`` is the
    reference's population standard deviation (``np.std``); 0 leaves the
    distance unscaled, as ``stats.wasserstein_scaled`` does.

    Returns
    -------
    ks : KsResult
        As ``stats.ks_statistic(reference, current)``.
    wasserstein : float
        As ``stats.wasserstein_scaled(reference, current)``.

    Examples
    --------
    >>> ks, w = ks_and_wasserstein(np.array([0.0, 2.0]), np.array([1.0, 3.0]), 1.0)
    >>> ks.statistic, w
    (0.5, 1.0)
    """
    n, m = reference.size, current.size
    # Merge: a current value goes after every reference value at or below it.
    slots = np.searchsorted(reference, current, side="right") + np.arange(m)
    from_current = np.zeros(n + m, dtype=bool)
    from_current[slots] = True
    points = np.empty(n + m)
    points[slots] = current
    points[~from_current] = reference
    below_cur = np.cumsum(from_current)
    # At the last of tied points, every point before it is at or below it.
    below_ref = np.arange(1, n + m + 1) - below_cur
    gaps = np.abs(below_ref / n - below_cur / m)
    # Tied points: only the last of each value has the counts "at or below" it.
    last = np.r_[points[1:] != points[:-1], True]
    statistic = float(np.max(gaps[last]))
    # A tied point's width to the next is 0, so its partial counts add nothing.
    distance = float(np.sum(gaps[:-1] * np.diff(points)))
    return (KsResult(statistic, _ks_pvalue(statistic, n, m)),
            distance / scale if scale > 0 else distance)


class SortedReference:
    """A sorted reference sample, and the integral of its CDF at each of its points.

    ``compare(current)`` gives what ``ks_and_wasserstein`` gives. A current
    sample much smaller than the reference (a chunk of a big file) is not
    merged with it: each distinct current value is searched in the
    reference (``O(m log n)`` instead of ``O(n + m)``). KS is then the same
    number; Wasserstein integrates ``|F_ref - F_cur|`` between consecutive
    current values from the precomputed integral of ``F_ref``, equal up to
    rounding.
    """

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.scale = float(np.std(values)) if values.size else 0.0
        self._integral: np.ndarray | None = None

    def _cdf_integral(self, x: np.ndarray, at_or_below: np.ndarray) -> np.ndarray:
        """``G(x)``: the integral of the reference's CDF from minus infinity to each ``x``.

        ``at_or_below``: how many reference values are at or below each ``x``.
        """
        r, n = self.values, self.values.size
        last = np.maximum(at_or_below - 1, 0)
        inside = self.integral[last] + at_or_below / n * (x - r[last])
        return np.where(at_or_below > 0, inside, 0.0)

    @property
    def integral(self) -> np.ndarray:
        """``G`` at each reference value (ties share one value)."""
        if self._integral is None:
            r, n = self.values, self.values.size
            self._integral = np.r_[0.0, np.cumsum(np.arange(1, n) / n * np.diff(r))]
        return self._integral

    def compare(self, current: np.ndarray) -> tuple[KsResult, float]:
        """KS and scaled Wasserstein of ``current`` (sorted, finite) against the reference."""
        r, n, m = self.values, self.values.size, current.size
        if m * SEARCH_BELOW >= n:
            return ks_and_wasserstein(r, current, self.scale)
        last = np.r_[current[1:] != current[:-1], True]
        u = current[last]  # distinct current values, ascending
        below_cur = np.flatnonzero(last) + 1  # current values at or below each
        cdf_cur = below_cur / m
        right = np.searchsorted(r, u, side="right")
        left = np.searchsorted(r, u, side="left")
        # Between two current values F_cur is flat and F_ref climbs: the largest gap
        # is at a current value or at the last reference value before the next one.
        statistic = float(max(np.max(np.abs(right / n - cdf_cur)),
                              np.max(np.abs(left[1:] / n - cdf_cur[:-1]), initial=0.0),
                              left[0] / n))
        distance = self._wasserstein(u, right, below_cur, m)
        return (KsResult(statistic, _ks_pvalue(statistic, n, m)),
                distance / self.scale if self.scale > 0 else distance)

    def _wasserstein(self, u: np.ndarray, right: np.ndarray, below_cur: np.ndarray,
                     m: int) -> float:
        """``integral |F_ref - F_cur| dx``, piece by piece between the current values."""
        r, n = self.values, self.values.size
        g_u = self._cdf_integral(u, right)
        before = float(g_u[0])  # F_cur = 0 below the first current value
        top = float(r[-1])
        after = 0.0  # F_cur = 1 from the last current value on
        if top > u[-1]:
            after = (top - u[-1]) - (float(self.integral[-1]) - g_u[-1])
        a, b, level = u[:-1], u[1:], below_cur[:-1] / m
        g_a, g_b = g_u[:-1], g_u[1:]
        # F_ref >= level from the reference's k-th value on, k = ceil(level * n).
        k = -((-below_cur[:-1] * n) // m)
        index = np.clip(k - 1, 0, n - 1)
        crossing = np.where(k <= n, r[index], np.inf)
        t = np.clip(crossing, a, b)
        # G at a reference value is tabulated; clipped to a or b it is G there.
        g_t = np.where(crossing <= a, g_a, np.where(crossing >= b, g_b, self.integral[index]))
        under = level * (t - a) - (g_t - g_a)  # F_ref below the level on [a, t)
        over = (g_b - g_t) - level * (b - t)  # and above it on [t, b)
        return before + float(np.sum(under + over)) + after


def jensen_shannon_of_shares(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2) of two share vectors over the same bins.

    Examples
    --------
    >>> jensen_shannon_of_shares(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    1.0
    """
    middle = (reference + current) / 2

    def kl(p: np.ndarray) -> float:
        mask = p > 0
        return float(np.sum(p[mask] * np.log2(p[mask] / middle[mask])))

    divergence = max(0.0, (kl(reference) + kl(current)) / 2)
    return float(min(1.0, math.sqrt(divergence)))


def chi_square_of_counts(reference: np.ndarray, current: np.ndarray) -> ChiSquareResult:
    """Pearson chi-square test on the 2 x k table of two samples' category counts.

    The columns are the categories in sorted order, each seen in at least
    one sample (as ``stats.chi_square`` builds them).

    Examples
    --------
    >>> chi_square_of_counts(np.array([10.0, 10.0]), np.array([10.0, 10.0]))
    ChiSquareResult(statistic=0.0, pvalue=1.0, dof=1)
    """
    table = np.vstack([np.asarray(reference, dtype=float), np.asarray(current, dtype=float)])
    dof = table.shape[1] - 1
    if dof == 0:
        return ChiSquareResult(0.0, 1.0, 0)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    pvalue = float(_scipy_stats.chi2.sf(statistic, dof))
    return ChiSquareResult(statistic, pvalue, dof)
