"""Drift statistics from summaries: sorted samples, bin shares, category counts.

The same numbers as ``stats.py`` (tests check they are equal, not close), for
a reference prepared once and compared with many samples: ``monitor compare``
sorts and bins each reference column once, then measures every chunk with
one merge and one histogram instead of re-sorting and re-binning the
reference each time.

    ks_and_wasserstein(ref_sorted, cur_sorted, scale)   # == ks_statistic, wasserstein_scaled
    jensen_shannon_of_shares(ref_shares, cur_shares)    # == jensen_shannon on those bins
    chi_square_of_counts(ref_counts, cur_counts)         # == chi_square on those categories

Inputs are trusted: finite, 1-D, non-empty, sorted where the name says so.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _scipy_stats

from riskops.monitoring.stats import ChiSquareResult, KsResult

__all__ = ["chi_square_of_counts", "jensen_shannon_of_shares", "ks_and_wasserstein"]


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
    en = round(n * m / (n + m))
    pvalue = float(np.clip(_scipy_stats.kstwo.sf(statistic, max(en, 1)), 0.0, 1.0))
    # A tied point's width to the next is 0, so its partial counts add nothing.
    distance = float(np.sum(gaps[:-1] * np.diff(points)))
    return KsResult(statistic, pvalue), (distance / scale if scale > 0 else distance)


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
