"""Drift statistics: pure functions over arrays, no I/O, no verdicts.

Samples go ``reference, current``. Numeric samples must be non-empty, 1-D and
finite: ``drop_missing`` removes NaN and infinity first and reports their
share, so a column with gaps is measured on its values and the gap is reported
beside the statistic, not hidden in it. Categorical samples are compared as
strings. What counts as drift (thresholds, the 30-sample floor) lives in
``verdicts.py`` and ``drift.py``.

    psi(reference, current)                 # population stability index, quantile bins
    reference_bins(reference) / shares_in(bins, values) / psi_of_shares(r, c)
                                            # the same PSI with the reference binned once
                                            # (Bins and both helpers live in riskops.binning)
    categorical_psi(reference, current)     # PSI over category shares
    ks_statistic(reference, current)        # two-sample Kolmogorov-Smirnov
    ks_and_wasserstein(reference, current)  # both from one merge of the samples
    jensen_shannon(reference, current)      # JS distance (base 2) on the PSI bins
    jensen_shannon_of_shares(r, c)          # the same from shares (a stored profile)
    wasserstein_scaled(reference, current)  # Wasserstein-1 / std of the reference
    chi_square(reference, current)          # Pearson chi-square on category counts
    chi_square_counts(ref_counts, cur_counts)  # the same from the counts
    drift_z_score(reference, current)       # |mean shift| / standard error
    z_score_of_means(mean_r, mean_c, sd_r, n_c)  # the same from the moments
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np
from scipy import stats as _scipy_stats

from riskops.arrays import float_vector, text_vector
from riskops.binning import Bins, reference_bins, shares_in

__all__ = [
    "Bins",
    "ChiSquareResult",
    "KsResult",
    "bin_shares",
    "categorical_psi",
    "category_shares",
    "chi_square",
    "chi_square_counts",
    "drift_z_score",
    "drop_missing",
    "jensen_shannon",
    "jensen_shannon_of_shares",
    "ks_and_wasserstein",
    "ks_and_wasserstein_sorted",
    "ks_pvalue",
    "ks_statistic",
    "psi",
    "psi_of_shares",
    "reference_bins",
    "shares_in",
    "wasserstein_scaled",
    "z_score_of_means",
]


class KsResult(NamedTuple):
    """The Kolmogorov-Smirnov statistic and its p-value."""

    statistic: float
    pvalue: float


class ChiSquareResult(NamedTuple):
    """Pearson chi-square statistic, p-value and degrees of freedom."""

    statistic: float
    pvalue: float
    dof: int


# --- validation ----------------------------------------------------------------------


def _finite_1d(values: Any, name: str) -> np.ndarray:
    return float_vector(values, name=name,
                        nonfinite_fix="drop them first (riskops.monitoring.stats.drop_missing)")


def _check_epsilon(epsilon: float) -> None:
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon must be in (0, 1), got {epsilon!r}.")


# --- missing values ------------------------------------------------------------------


def drop_missing(values: Any, *, name: str = "values") -> tuple[np.ndarray, float]:
    """The finite values of a numeric sample and the share that was NaN or infinite.

    Parameters
    ----------
    values : array-like of shape (n_samples,)
        Numbers; ``None`` counts as missing.
    name : str, default="values"
        Named in error messages.

    Returns
    -------
    finite : ndarray of shape (n_finite,)
        The values that are neither NaN nor infinite, in their original order.
    missing_share : float
        Share of ``values`` that was dropped, in [0, 1].

    Raises
    ------
    ValueError
        If ``values`` is empty, not 1-D or holds something that is not a number.

    Examples
    --------
    >>> finite, share = drop_missing([1.0, float("nan"), 3.0, None])
    >>> finite.tolist(), share
    ([1.0, 3.0], 0.5)
    """
    array = float_vector(values, name=name, finite=False)  # None becomes NaN
    keep = np.isfinite(array)
    return array[keep], float(1.0 - keep.mean())


# --- binning (the bins live in riskops.binning, below monitoring) ---------------------


def psi_of_shares(reference_shares: Any, current_shares: Any, *,
                  epsilon: float = 1e-4) -> float:
    """PSI of two share vectors over the same bins, an empty bin counting ``epsilon``.

    ``psi(a, b) == psi_of_shares(*bin_shares(a, b))``: use it when the
    reference shares were computed once (a stored profile, many chunks).

    Examples
    --------
    >>> round(psi_of_shares([0.5, 0.5], [0.25, 0.75]), 4)
    0.2747
    """
    _check_epsilon(epsilon)
    ref = float_vector(reference_shares, name="reference_shares")
    cur = float_vector(current_shares, name="current_shares")
    if ref.shape != cur.shape:
        raise ValueError(f"reference_shares and current_shares must have the same length, "
                         f"got {ref.size} and {cur.size}.")
    return _psi_of_shares(ref, cur, epsilon)


def bin_shares(reference: Any, current: Any, *, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Shares of each sample in bins drawn from ``reference``.

    When the reference holds at most ``bins`` distinct values (flags, counts,
    a constant column), every value gets its own bin, with gap bins below,
    between and above them. Otherwise the bins are the reference's quantiles
    at ``1/bins, ..., (bins-1)/bins``, left-closed, tied quantiles merged (so
    a tie-heavy reference yields fewer bins); current values beyond the
    reference fall in the end bins.

    Parameters
    ----------
    reference, current : array-like of shape (n_samples,)
        Finite numbers.
    bins : int, default=10
        Quantile bins at most.

    Returns
    -------
    reference_shares, current_shares : ndarray of shape (n_bins,)
        Each sums to 1; empty bins are 0.

    Raises
    ------
    ValueError
        If a sample is empty, not 1-D, or holds NaN or infinity; if ``bins`` < 2.

    Examples
    --------
    >>> ref, cur = bin_shares([0, 0, 1, 1], [0, 0, 0, 1], bins=2)
    >>> ref.tolist(), cur.tolist()
    ([0.0, 0.5, 0.0, 0.5, 0.0], [0.0, 0.75, 0.0, 0.25, 0.0])
    """
    drawn = reference_bins(reference, bins=bins)
    return (shares_in(drawn, reference, name="reference"),
            shares_in(drawn, current, name="current"))


def category_shares(reference: Any, current: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Categories seen in either sample (sorted) and each sample's share of them.

    Values are compared as strings, so ``1`` and ``"1"`` are one category.
    A category only ``current`` has gets share 0 in the reference.

    Examples
    --------
    >>> cats, ref, cur = category_shares(["a", "a", "b"], ["b", "c"])
    >>> cats, ref.round(3).tolist(), cur.tolist()
    (['a', 'b', 'c'], [0.667, 0.333, 0.0], [0.0, 0.5, 0.5])
    """
    ref_labels = text_vector(reference, name="reference")
    cur_labels = text_vector(current, name="current")
    categories = sorted(set(ref_labels.tolist()) | set(cur_labels.tolist()))
    ref_counts, cur_counts = _category_counts(ref_labels, cur_labels, categories)
    return categories, ref_counts / ref_labels.size, cur_counts / cur_labels.size


def _category_counts(ref: np.ndarray, cur: np.ndarray, categories: Iterable[str]) -> tuple[
    np.ndarray, np.ndarray
]:
    order = {c: i for i, c in enumerate(categories)}
    ref_counts = np.bincount([order[v] for v in ref], minlength=len(order)).astype(float)
    cur_counts = np.bincount([order[v] for v in cur], minlength=len(order)).astype(float)
    return ref_counts, cur_counts


def _psi_of_shares(ref: np.ndarray, cur: np.ndarray, epsilon: float) -> float:
    ref = np.where(ref == 0, epsilon, ref)
    cur = np.where(cur == 0, epsilon, cur)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


# --- statistics ----------------------------------------------------------------------


def psi(reference: Any, current: Any, *, bins: int = 10, epsilon: float = 1e-4) -> float:
    """Population stability index of ``current`` against ``reference``.

    ``PSI = sum_i (c_i - r_i) * ln(c_i / r_i)`` over the bins of
    ``bin_shares`` (quantiles of the reference, or one bin per value when the
    reference has few distinct values). A bin empty in a sample counts as
    ``epsilon`` for that sample, so PSI stays finite. It is the symmetrised
    Kullback-Leibler divergence ``KL(c||r) + KL(r||c)`` of the binned shares.

    Parameters
    ----------
    reference, current : array-like of shape (n_samples,)
        Finite numbers.
    bins : int, default=10
        Quantile bins at most; fewer when the reference has tied quantiles.
    epsilon : float, default=1e-4
        Share given to an empty bin.

    Returns
    -------
    psi : float
        0.0 for identically binned samples; larger means more shift. Read
        against the guidance in ``riskops.monitoring.verdicts``.

    Raises
    ------
    ValueError
        If a sample is empty, not 1-D, or holds NaN or infinity; if ``bins``
        < 2 or ``epsilon`` is not in (0, 1).

    Examples
    --------
    >>> ref = np.random.default_rng(0).normal(size=5_000)
    >>> psi(ref, ref) == 0.0
    True
    >>> psi(ref, ref + 1.0) > 0.25
    True
    """
    _check_epsilon(epsilon)
    ref, cur = bin_shares(reference, current, bins=bins)
    return _psi_of_shares(ref, cur, epsilon)


def categorical_psi(reference: Any, current: Any, *, epsilon: float = 1e-4) -> float:
    """Population stability index over category shares.

    As ``psi``, with one bin per category seen in either sample; a category
    one sample lacks counts as ``epsilon`` there.

    Parameters
    ----------
    reference, current : array-like of shape (n_samples,)
        Category labels, compared as strings.
    epsilon : float, default=1e-4
        Share given to a category a sample does not have.

    Returns
    -------
    psi : float

    Raises
    ------
    ValueError
        If a sample is empty or not 1-D, or ``epsilon`` is not in (0, 1).

    Examples
    --------
    >>> categorical_psi(["a", "b"] * 50, ["a", "b"] * 50)
    0.0
    """
    _check_epsilon(epsilon)
    _, ref, cur = category_shares(reference, current)
    return _psi_of_shares(ref, cur, epsilon)


def _sorted(values: np.ndarray) -> np.ndarray:
    return values if np.all(values[1:] >= values[:-1]) else np.sort(values)


def ks_statistic(reference: Any, current: Any) -> KsResult:
    """Two-sample Kolmogorov-Smirnov test.

    The statistic is the largest gap between the two empirical CDFs,
    ``D = max_x |F_ref(x) - F_cur(x)|``. The p-value is the asymptotic one,
    ``P(D_en >= D)`` under the one-sample Kolmogorov distribution with
    ``en = round(n * m / (n + m))`` (``scipy.stats.ks_2samp(..., method="asymp")``).

    Parameters
    ----------
    reference, current : array-like of shape (n_samples,)
        Finite numbers.

    Returns
    -------
    result : KsResult
        ``statistic`` in [0, 1] and ``pvalue`` in [0, 1].

    Raises
    ------
    ValueError
        If a sample is empty, not 1-D, or holds NaN or infinity.

    Examples
    --------
    >>> ks_statistic([1, 2, 3, 4], [3, 4, 5, 6]).statistic
    0.5
    """
    return ks_and_wasserstein(reference, current)[0]


def jensen_shannon(reference: Any, current: Any, *, bins: int = 10) -> float:
    """Jensen-Shannon distance (base 2) between the binned samples.

    On the bins of ``bin_shares`` (the same as ``psi``), with
    ``m = (r + c) / 2``: ``JS = sqrt(KL(r||m) / 2 + KL(c||m) / 2)`` in bits,
    the value of ``scipy.spatial.distance.jensenshannon(r, c, base=2)``.
    Empty bins need no epsilon: ``0 * log 0 = 0``.

    Parameters
    ----------
    reference, current : array-like of shape (n_samples,)
        Finite numbers.
    bins : int, default=10

    Returns
    -------
    distance : float
        In [0, 1]: 0 for identically binned samples, 1 for disjoint bins.

    Raises
    ------
    ValueError
        If a sample is empty, not 1-D, or holds NaN or infinity; if ``bins`` < 2.

    Examples
    --------
    >>> jensen_shannon([0, 0, 0], [1, 1, 1])
    1.0
    """
    ref, cur = bin_shares(reference, current, bins=bins)
    return _jensen_shannon_of_shares(ref, cur)


def jensen_shannon_of_shares(reference_shares: Any, current_shares: Any) -> float:
    """Jensen-Shannon distance (base 2) of two share vectors over the same bins.

    ``jensen_shannon(a, b) == jensen_shannon_of_shares(*bin_shares(a, b))``:
    use it when the reference shares were computed once (a stored profile).

    Examples
    --------
    >>> jensen_shannon_of_shares([1.0, 0.0], [0.0, 1.0])
    1.0
    """
    ref = float_vector(reference_shares, name="reference_shares")
    cur = float_vector(current_shares, name="current_shares")
    if ref.shape != cur.shape:
        raise ValueError(f"reference_shares and current_shares must have the same length, "
                         f"got {ref.size} and {cur.size}.")
    return _jensen_shannon_of_shares(ref, cur)


def _jensen_shannon_of_shares(ref: np.ndarray, cur: np.ndarray) -> float:
    middle = (ref + cur) / 2

    def kl(p: np.ndarray) -> float:
        mask = p > 0
        return float(np.sum(p[mask] * np.log2(p[mask] / middle[mask])))

    divergence = max(0.0, (kl(ref) + kl(cur)) / 2)
    return float(min(1.0, math.sqrt(divergence)))


def wasserstein_scaled(reference: Any, current: Any) -> float:
    """Wasserstein-1 distance between the samples, in reference standard deviations.

    ``W1 = integral |F_ref(x) - F_cur(x)| dx`` over the empirical CDFs (the
    value of ``scipy.stats.wasserstein_distance``), divided by the population
    standard deviation (``ddof=0``) of ``reference`` so features of different
    units compare: 0.1 means the mass moved a tenth of a standard deviation
    on average. A constant reference has no spread to scale by; the distance
    is then returned unscaled, in the feature's own units.

    Parameters
    ----------
    reference, current : array-like of shape (n_samples,)
        Finite numbers.

    Returns
    -------
    distance : float
        At least 0.

    Raises
    ------
    ValueError
        If a sample is empty, not 1-D, or holds NaN or infinity.

    Examples
    --------
    >>> wasserstein_scaled([0.0, 2.0], [1.0, 3.0])
    1.0
    """
    return ks_and_wasserstein(reference, current)[1]


def ks_and_wasserstein(reference: Any, current: Any) -> tuple[KsResult, float]:
    """``ks_statistic`` and ``wasserstein_scaled`` from one merge of the two samples.

    Examples
    --------
    >>> ks, w = ks_and_wasserstein([0.0, 2.0], [1.0, 3.0])
    >>> ks.statistic, w
    (0.5, 1.0)
    """
    reference = _sorted(_finite_1d(reference, "reference"))
    current = _sorted(_finite_1d(current, "current"))
    return ks_and_wasserstein_sorted(reference, current, float(np.std(reference)))


def ks_and_wasserstein_sorted(reference: np.ndarray, current: np.ndarray,
                              scale: float) -> tuple[KsResult, float]:
    """Kolmogorov-Smirnov test and scaled Wasserstein-1 distance of two sorted samples.

    The trusted core of ``ks_and_wasserstein`` for callers that sorted once
    (``monitor compare`` keeps each reference column sorted): finite, 1-D,
    non-empty, ascending inputs are not checked again.

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
    >>> ks, w = ks_and_wasserstein_sorted(np.array([0.0, 2.0]), np.array([1.0, 3.0]), 1.0)
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
    return (KsResult(statistic, ks_pvalue(statistic, n, m)),
            distance / scale if scale > 0 else distance)


def ks_pvalue(statistic: float, n: int, m: int) -> float:
    """Asymptotic two-sample KS p-value of ``statistic`` for samples of ``n`` and ``m``.

    ``P(D_en >= D)`` under the one-sample Kolmogorov distribution with
    ``en = round(n * m / (n + m))``, as ``scipy.stats.ks_2samp(..., method="asymp")``.
    """
    en = round(n * m / (n + m))
    return float(np.clip(_scipy_stats.kstwo.sf(statistic, max(en, 1)), 0.0, 1.0))


def chi_square(reference: Any, current: Any) -> ChiSquareResult:
    """Pearson chi-square test that two samples share one category distribution.

    The 2 x k contingency table holds each sample's count of every category
    seen in either sample (a category only ``current`` has is a column with
    a 0 reference count, so unseen categories raise the statistic rather than
    being dropped). ``statistic = sum (observed - expected)^2 / expected`` with
    ``expected = row total * column total / n``, ``dof = k - 1``, and no
    continuity correction (``scipy.stats.chi2_contingency(table, correction=False)``).

    Parameters
    ----------
    reference, current : array-like of shape (n_samples,)
        Category labels, compared as strings.

    Returns
    -------
    result : ChiSquareResult
        ``statistic``, ``pvalue`` and ``dof``. One category in all: 0.0, 1.0, 0.

    Raises
    ------
    ValueError
        If a sample is empty or not 1-D.

    Examples
    --------
    >>> chi_square(["a", "b"] * 10, ["a", "b"] * 10)
    ChiSquareResult(statistic=0.0, pvalue=1.0, dof=1)
    """
    ref = text_vector(reference, name="reference")
    cur = text_vector(current, name="current")
    categories = sorted(set(ref.tolist()) | set(cur.tolist()))
    return chi_square_counts(*_category_counts(ref, cur, categories))


def chi_square_counts(reference_counts: Any, current_counts: Any) -> ChiSquareResult:
    """``chi_square`` from each sample's count per category (the same categories, in order).

    Examples
    --------
    >>> chi_square_counts([10, 10], [10, 10])
    ChiSquareResult(statistic=0.0, pvalue=1.0, dof=1)
    """
    ref = float_vector(reference_counts, name="reference_counts")
    cur = float_vector(current_counts, name="current_counts")
    if ref.shape != cur.shape:
        raise ValueError(f"reference_counts and current_counts must have the same length, "
                         f"got {ref.size} and {cur.size}.")
    if ref.min() < 0 or cur.min() < 0 or ref.sum() == 0 or cur.sum() == 0:
        raise ValueError("counts must be non-negative with a positive total in each sample.")
    table = np.vstack([ref, cur])
    table = table[:, table.sum(axis=0) > 0]
    dof = table.shape[1] - 1
    if dof == 0:
        return ChiSquareResult(0.0, 1.0, 0)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    pvalue = float(_scipy_stats.chi2.sf(statistic, dof))
    return ChiSquareResult(statistic, pvalue, dof)


def drift_z_score(reference: Any, current: Any) -> float:
    """How many standard errors the current mean lies from the reference mean.

    ``z = |mean(current) - mean(reference)| / (std(reference) / sqrt(n_current))``
    with the sample standard deviation (``ddof=1``) of the reference: the
    z-statistic of the current window's mean under the reference
    distribution. It grows with ``sqrt(n_current)``, so large windows flag
    small but persistent shifts; the alert rule (score > 3.0 for three
    consecutive evaluations) asks for persistence to keep noise out. A
    reference that is constant (or a single value) has no spread: the score
    is 0.0 when the means agree and infinity when they do not.

    Parameters
    ----------
    reference, current : array-like of shape (n_samples,)
        Finite numbers.

    Returns
    -------
    z : float
        At least 0; ``inf`` only for a constant reference.

    Raises
    ------
    ValueError
        If a sample is empty, not 1-D, or holds NaN or infinity.

    Examples
    --------
    >>> round(drift_z_score([0.0, 2.0], [2.0, 2.0, 2.0, 2.0]), 3)  # std 1.414, se 0.707
    1.414
    """
    reference = _finite_1d(reference, "reference")
    current = _finite_1d(current, "current")
    spread = float(np.std(reference, ddof=1)) if reference.size > 1 else 0.0
    return z_score_of_means(float(reference.mean()), float(current.mean()), spread,
                            current.size)


def z_score_of_means(reference_mean: float, current_mean: float, reference_std: float,
                     n_current: int) -> float:
    """``drift_z_score`` from the means, the reference's sample standard deviation
    (``ddof=1``; 0.0 for a constant or single-value reference) and the current size.

    Examples
    --------
    >>> round(z_score_of_means(1.0, 2.0, 1.414, 4), 3)
    1.414
    """
    shift = abs(current_mean - reference_mean)
    if reference_std == 0.0:
        return 0.0 if shift == 0.0 else math.inf
    return shift / (reference_std / math.sqrt(n_current))
