"""KS and Wasserstein of many chunks against one reference, sorted once.

The same numbers as ``stats.py`` (tests check they are equal, not close):
``monitor compare`` sorts each reference column once, then measures every
chunk with one merge (``stats.ks_and_wasserstein_sorted``) or, for a chunk
much smaller than the reference, one search in it. The share- and
count-based statistics (PSI, Jensen-Shannon, chi-square) are in ``stats``.

    SortedReference(ref_sorted).compare(cur_sorted)   # == stats.ks_and_wasserstein_sorted,
                                                      # O(m log n) for a small chunk

Inputs are trusted: finite, 1-D, non-empty, sorted where the name says so.
"""

from __future__ import annotations

import numpy as np

from riskops.monitoring.stats import KsResult, ks_and_wasserstein_sorted, ks_pvalue

__all__ = ["SortedReference"]

#: A chunk this many times smaller than the reference is searched in it, not merged.
SEARCH_BELOW = 8


class SortedReference:
    """A sorted reference sample, and the integral of its CDF at each of its points.

    ``compare(current)`` gives what ``stats.ks_and_wasserstein_sorted`` gives. A current
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
            return ks_and_wasserstein_sorted(r, current, self.scale)
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
        return (KsResult(statistic, ks_pvalue(statistic, n, m)),
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
