"""One variable checked for drift: missing values, the sample floor, every statistic.

Pure: samples in, a JSON-ready dict out. ``job.py`` fetches the samples and
decides what to do with the verdicts.

    check_numeric(reference, current)      # PSI, KS, JS, Wasserstein, z-score
    check_numeric_summary(summary)         # the same from a NumericSummary an engine computed
    check_categorical(reference, current)  # chi-square and PSI over categories
    check_category_counts(ref_counts, cur_counts)  # the same from counts per category
    check_text(reference, current)         # check_numeric on text lengths

Each returns ``{"status": "checked", ...}`` or ``{"status": "skipped",
"reason": ...}`` when a window has fewer than ``min_samples`` usable values.
Missing values (``None``, NaN, infinity; for categories ``None`` and NaN)
are dropped from numeric samples and reported as ``*_missing_share``; a
categorical sample keeps them as the category ``"(missing)"``, so a rise in
missing values is itself measured.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from riskops.binning import shares_in_sorted
from riskops.monitoring import stats
from riskops.monitoring.verdicts import (
    DEFAULT_PSI_ALERT,
    MIN_SAMPLES,
    Z_SCORE_ALERT,
    is_drift,
    psi_verdict,
)

MISSING = "(missing)"


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _numeric(values: Any, name: str) -> tuple[np.ndarray, float]:
    # A float array as it is: an object copy of millions of values costs seconds.
    if (values.size if isinstance(values, np.ndarray) else len(values)) == 0:
        return np.empty(0), 0.0
    return stats.drop_missing(values, name=name)


def _floor(n_reference: int, n_current: int, min_samples: int, what: str) -> str | None:
    for window, n in (("reference", n_reference), ("current", n_current)):
        if n < min_samples:
            return (f"{window} window has {n} {what}, fewer than the {min_samples} "
                    "a drift check needs")
    return None


class NumericSummary(NamedTuple):
    """What ``check_numeric`` reads of two numeric samples, however an engine got it.

    From arrays: ``numeric_summary``. A query engine that keeps the rows (Spark,
    ``spark_numbers``) computes the same counts, shares and distances where
    the rows are and hands over only this.
    """

    reference_rows: int  # non-missing values
    current_rows: int
    reference_missing_share: float
    current_missing_share: float
    #: Shares of each sample in the reference's bins (``binning.reference_bins``);
    #: empty when a sample has no values.
    reference_shares: np.ndarray
    current_shares: np.ndarray
    ks_statistic: float  # sup |F_ref - F_cur|
    wasserstein: float  # integral |F_ref - F_cur|, unscaled
    reference_mean: float
    current_mean: float
    reference_std: float  # population (ddof=0): scales the Wasserstein distance
    reference_sample_std: float  # ddof=1 (0.0 for one value): the z-score's spread


def numeric_summary(reference: Any, current: Any, *, bins: int = 10) -> NumericSummary:
    """``NumericSummary`` of two samples of numbers (missing values: None, NaN, infinity).

    Raises ``ValueError`` for a sample that holds something that is not a number.
    """
    ref, ref_missing = _numeric(reference, "reference")
    cur, cur_missing = _numeric(current, "current")
    # Every statistic is order-free; sorted samples make their own sorts cheap.
    ref, cur = np.sort(ref), np.sort(cur)
    if ref.size == 0 or cur.size == 0:
        empty = np.empty(0)
        return NumericSummary(int(ref.size), int(cur.size), ref_missing, cur_missing, empty,
                              empty, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
    drawn = stats.reference_bins(ref, bins=bins)  # once for PSI and JS
    ks, distance = stats.ks_and_wasserstein_sorted(ref, cur, 0.0)
    return NumericSummary(
        int(ref.size), int(cur.size), ref_missing, cur_missing,
        shares_in_sorted(drawn, ref), shares_in_sorted(drawn, cur), ks.statistic, distance,
        float(ref.mean()), float(cur.mean()), float(np.std(ref)),
        float(np.std(ref, ddof=1)) if ref.size > 1 else 0.0)


def check_numeric(
    reference: Any, current: Any, *, min_samples: int = MIN_SAMPLES, bins: int = 10,
    psi_threshold: float = DEFAULT_PSI_ALERT,
) -> dict[str, Any]:
    """PSI, KS, Jensen-Shannon, scaled Wasserstein and z-score of a numeric variable.

    ``drift`` is ``psi > psi_threshold``; ``verdict`` is the PSI guidance band.
    A z-score that is infinite (constant reference, moved mean) is reported
    as ``None`` with a note.
    """
    return check_numeric_summary(numeric_summary(reference, current, bins=bins),
                                 min_samples=min_samples, psi_threshold=psi_threshold)


def check_numeric_summary(
    summary: NumericSummary, *, min_samples: int = MIN_SAMPLES,
    psi_threshold: float = DEFAULT_PSI_ALERT,
) -> dict[str, Any]:
    """``check_numeric`` from a ``NumericSummary`` of the two samples."""
    n_ref, n_cur = summary.reference_rows, summary.current_rows
    result: dict[str, Any] = {
        "kind": "numeric", "reference_rows": n_ref, "current_rows": n_cur,
        "reference_missing_share": summary.reference_missing_share,
        "current_missing_share": summary.current_missing_share,
    }
    reason = _floor(n_ref, n_cur, min_samples, "non-missing values")
    if reason is not None:
        return {"status": "skipped", "reason": reason, **result}
    ref_shares, cur_shares = summary.reference_shares, summary.current_shares
    psi = stats.psi_of_shares(ref_shares, cur_shares)
    scale = summary.reference_std
    z = stats.z_score_of_means(summary.reference_mean, summary.current_mean,
                               summary.reference_sample_std, n_cur)
    result.update({
        "status": "checked",
        "psi": psi,
        "ks_statistic": summary.ks_statistic,
        "ks_pvalue": stats.ks_pvalue(summary.ks_statistic, n_ref, n_cur),
        "jensen_shannon": stats.jensen_shannon_of_shares(ref_shares, cur_shares),
        "wasserstein_scaled": summary.wasserstein / scale if scale > 0 else summary.wasserstein,
        "z_score": _finite_or_none(z),
        "reference_mean": summary.reference_mean, "current_mean": summary.current_mean,
        "verdict": psi_verdict(psi), "threshold": psi_threshold,
        "drift": is_drift(psi, psi_threshold),
        "z_score_alert": z > Z_SCORE_ALERT,
    })
    if not math.isfinite(z):
        result["note"] = "reference is constant and the current mean differs: z-score infinite"
    return result


def _categories(values: Any) -> list[str]:
    out = []
    for v in np.asarray(values, dtype=object).ravel():
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        out.append(MISSING if missing else str(v))
    return out


def check_categorical(
    reference: Any, current: Any, *, min_samples: int = MIN_SAMPLES,
    psi_threshold: float = DEFAULT_PSI_ALERT, top: int = 10,
) -> dict[str, Any]:
    """Chi-square test and PSI over the categories of a categorical variable.

    ``shares`` lists the ``top`` categories by reference share with both
    windows' shares, so a reader sees which category moved.
    """
    return check_category_counts(Counter(_categories(reference)), Counter(_categories(current)),
                                 min_samples=min_samples, psi_threshold=psi_threshold, top=top)


def check_category_counts(
    reference: Mapping[Any, int], current: Mapping[Any, int], *,
    min_samples: int = MIN_SAMPLES, psi_threshold: float = DEFAULT_PSI_ALERT, top: int = 10,
) -> dict[str, Any]:
    """``check_categorical`` from each window's count per category.

    For samples counted where they are stored (a SQL ``GROUP BY``): keys are
    compared as strings, ``None`` is the category ``"(missing)"``.
    """
    ref, cur = _counted(reference), _counted(current)
    n_ref, n_cur = sum(ref.values()), sum(cur.values())
    result: dict[str, Any] = {
        "kind": "categorical", "reference_rows": n_ref, "current_rows": n_cur,
        "reference_missing_share": ref.get(MISSING, 0) / n_ref if n_ref else 0.0,
        "current_missing_share": cur.get(MISSING, 0) / n_cur if n_cur else 0.0,
    }
    reason = _floor(n_ref, n_cur, min_samples, "values")
    if reason is not None:
        return {"status": "skipped", "reason": reason, **result}
    categories = sorted(set(ref) | set(cur))
    ref_counts = np.array([ref.get(c, 0) for c in categories], dtype=float)
    cur_counts = np.array([cur.get(c, 0) for c in categories], dtype=float)
    ref_shares, cur_shares = ref_counts / n_ref, cur_counts / n_cur
    psi = stats.psi_of_shares(ref_shares, cur_shares)
    chi = stats.chi_square_counts(ref_counts, cur_counts)
    order = sorted(range(len(categories)), key=lambda i: (-ref_shares[i], categories[i]))
    result.update({
        "status": "checked",
        "psi": psi,
        "chi_square": chi.statistic, "chi_square_pvalue": chi.pvalue, "chi_square_dof": chi.dof,
        "categories": len(categories),
        "shares": {categories[i]: {"reference": float(ref_shares[i]),
                                   "current": float(cur_shares[i])} for i in order[:top]},
        "verdict": psi_verdict(psi), "threshold": psi_threshold,
        "drift": is_drift(psi, psi_threshold),
    })
    return result


def _counted(counts: Mapping[Any, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, n in counts.items():
        missing = key is None or (isinstance(key, float) and math.isnan(key))
        label = MISSING if missing else str(key)
        out[label] = out.get(label, 0) + int(n)
    return {k: n for k, n in out.items() if n > 0}


def guard(check: Callable[[], dict[str, Any]], base: dict[str, Any]) -> dict[str, Any]:
    """Run one check; data a statistic rejects skips that check, not the run."""
    try:
        return {**base, **check()}
    except ValueError as exc:
        return {**base, "status": "skipped", "reason": f"invalid data: {exc}"}


def text_lengths(values: Sequence[Any]) -> list[float]:
    """Character length of each text; ``None`` and non-text values become NaN."""
    return [float(len(v)) if isinstance(v, str) else math.nan for v in values]


def check_text(
    reference: Sequence[Any], current: Sequence[Any], *, min_samples: int = MIN_SAMPLES,
    bins: int = 10, psi_threshold: float = DEFAULT_PSI_ALERT,
) -> dict[str, Any]:
    """``check_numeric`` on the character lengths of a text variable.

    Length is a cheap, model-agnostic signal that the kind of text changed
    (terse alerts instead of long reports); vocabulary drift is not measured.
    """
    result = check_numeric(text_lengths(reference), text_lengths(current),
                           min_samples=min_samples, bins=bins, psi_threshold=psi_threshold)
    return {**result, "kind": "text", "measure": "length in characters"}
