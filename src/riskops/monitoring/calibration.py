"""Calibration per group (segment): Brier, ECE and the reliability table of each.

Pure numpy. A score is calibrated when, among rows scored about ``p``, a
share of about ``p`` turns out risky. A population can be calibrated while
one region is not (concept drift in one market, a new channel), so
``monitor run``, ``monitor compare`` and the bias audit measure it per
segment value. The bins and the ECE are those of
``riskops.training.metrics.reliability_bins`` (``calibration_curve``'s);
whether a segment is miscalibrated is decided apart, by
``verdicts.calibration_breaches``.

    by_region = group_calibration(y, scores, regions, min_rows=200)
    by_region["emea"]["ece"], by_region["emea"]["reliability"]["observed_rate"]
    by_region["tiny"]    # {"status": "skipped", "rows": 12, "positives": 3, "reason": ...}
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from riskops.monitoring.drift import MISSING
from riskops.training.metrics import (
    check_binary_scores,
    expected_calibration_error,
    reliability_bins,
)

__all__ = ["CALIBRATION_BINS", "MAX_SKIPPED_LISTED", "OTHER_VALUES", "calibration_of",
           "fold_small_groups", "group_calibration"]

#: Equal-width bins of the reliability tables monitoring and the bias audit report.
CALIBRATION_BINS = 10
#: Skipped groups listed one by one; the smaller rest are folded into ``OTHER_VALUES``.
MAX_SKIPPED_LISTED = 20
OTHER_VALUES = "(other values)"


def group_calibration(
    y_true: Any, scores: Any, groups: Any, *, n_bins: int = CALIBRATION_BINS,
    strategy: str = "uniform", min_rows: int = 1, values: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """Brier, expected calibration error and reliability table of each group's rows.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 outcomes. Rows without an outcome must be dropped first.
    scores : array-like of shape (n_samples,)
        Risk scores in [0, 1], read as probabilities of 1.
    groups : array-like of shape (n_samples,)
        Each row's group (segment value), compared as text; ``None`` and NaN
        form the group ``"(missing)"``.
    n_bins : int, default=10
    strategy : {"uniform", "quantile"}, default="uniform"
        The bins of ``sklearn.calibration.calibration_curve``; quantile bins
        are drawn from each group's own scores.
    min_rows : int, default=1
        A group with fewer rows is skipped, with the reason.
    values : iterable of str, default=()
        Groups to report even when no row has them (skipped, 0 rows).

    Returns
    -------
    dict
        Group -> ``{"status": "checked", "rows", "positives", "mean_score",
        "observed_rate", "brier", "ece", "reliability": {"edges", "rows",
        "mean_predicted", "observed_rate"}}`` (``edges``: ``n_bins + 1``
        floats; the other three per bin, ``None`` for an empty bin), or
        ``{"status": "skipped", "rows", "positives", "reason"}``. Sorted by
        group. A group of one class is checked like any other. Past
        ``MAX_SKIPPED_LISTED`` skipped groups, the smallest are folded into one
        ``"(other values)"`` entry that also says how many ``values`` it holds.

    Raises
    ------
    ValueError
        If the inputs differ in length, a label is not 0/1, a score is NaN,
        infinite or outside [0, 1], ``n_bins`` is below 1, ``strategy`` is
        unknown or ``min_rows`` is below 1. Empty inputs are not an error:
        every group in ``values`` is then skipped.

    Examples
    --------
    >>> r = group_calibration([0, 1, 1, 1], [0.25, 0.25, 0.75, 0.75], ["a", "a", "b", "b"],
    ...                       n_bins=2)
    >>> r["a"]["brier"], r["a"]["ece"], r["b"]["reliability"]["observed_rate"]
    (0.3125, 0.25, [None, 1.0])
    """
    _check_min_rows(min_rows)
    names = _group_names(groups)
    if names.size == 0 and np.asarray(y_true).size == 0 and np.asarray(scores).size == 0:
        y, s = np.empty(0, dtype=int), np.empty(0)
        reliability_bins([0], [0.0], n_bins=n_bins, strategy=strategy)  # check the options
    else:
        y, s = check_binary_scores(y_true, scores)
        if names.size != y.size:
            raise ValueError(f"groups and y_true have different lengths "
                             f"({names.size} != {y.size}).")
    present, inverse = np.unique(names.astype(str), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    ends = np.cumsum(np.bincount(inverse, minlength=present.size))
    rows_of = {str(name): order[end - count:end] for name, end, count in
               zip(present, ends, np.bincount(inverse, minlength=present.size), strict=True)}
    empty = np.empty(0, dtype=np.int64)
    result: dict[str, dict[str, Any]] = {}
    for name in sorted({*rows_of, *map(str, values)}):
        rows = rows_of.get(name, empty)
        result[name] = _one_group(y[rows], s[rows], n_bins=n_bins, strategy=strategy,
                                  min_rows=min_rows)
    return fold_small_groups(result, min_rows)


def fold_small_groups(result: dict[str, dict[str, Any]], min_rows: int,
                       ) -> dict[str, dict[str, Any]]:
    """Past ``MAX_SKIPPED_LISTED`` skipped groups, the smallest are folded into one
    ``OTHER_VALUES`` entry (how many, their rows): a column of thousands of values (an id,
    a free-text field logged as a segment) must not make a report of thousands of lines."""
    skipped = [name for name, entry in result.items() if entry["status"] == "skipped"]
    if len(skipped) <= MAX_SKIPPED_LISTED:
        return result
    keep = set(sorted(skipped, key=lambda n: (-result[n]["rows"], n))[:MAX_SKIPPED_LISTED])
    folded = [result.pop(name) for name in skipped if name not in keep]
    result[OTHER_VALUES] = {
        "status": "skipped", "rows": sum(e["rows"] for e in folded),
        "positives": sum(e["positives"] for e in folded), "values": len(folded),
        "reason": f"{len(folded)} more values, each with fewer than the {min_rows} "
                  "labelled rows a calibration check needs",
    }
    return result


def calibration_of(y_true: Any, scores: Any, *, n_bins: int = CALIBRATION_BINS,
                   strategy: str = "uniform", min_rows: int = 1) -> dict[str, Any]:
    """``group_calibration``'s entry for one set of rows (checked or skipped), inputs
    checked the same way.

    >>> calibration_of([0, 1], [0.25, 0.75], n_bins=2)["brier"]
    0.0625
    """
    _check_min_rows(min_rows)
    if np.asarray(y_true).size == 0 and np.asarray(scores).size == 0:
        reliability_bins([0], [0.0], n_bins=n_bins, strategy=strategy)  # check the options
        y, s = np.empty(0, dtype=int), np.empty(0)
    else:
        y, s = check_binary_scores(y_true, scores)
    return _one_group(y, s, n_bins=n_bins, strategy=strategy, min_rows=min_rows)


def _check_min_rows(min_rows: Any) -> None:
    if isinstance(min_rows, bool) or not isinstance(min_rows, int | np.integer) or min_rows < 1:
        raise ValueError(f"min_rows must be an integer of at least 1, got {min_rows!r}.")


def _one_group(y: np.ndarray, s: np.ndarray, *, n_bins: int, strategy: str,
               min_rows: int) -> dict[str, Any]:
    rows, positives = int(y.size), int(y.sum())
    if rows < min_rows or rows == 0:
        reason = ("no labelled rows" if rows == 0 else
                  f"{rows} labelled rows, fewer than the {min_rows} a calibration check needs")
        return {"status": "skipped", "rows": rows, "positives": positives, "reason": reason}
    bins = reliability_bins(y, s, n_bins=n_bins, strategy=strategy)
    filled = bins.rows > 0
    return {
        "status": "checked", "rows": rows, "positives": positives,
        "mean_score": float(s.mean()), "observed_rate": positives / rows,
        "brier": float(np.mean((s - y) ** 2)),
        "ece": expected_calibration_error(y, s, n_bins=n_bins, strategy=strategy),
        "reliability": {
            "edges": [float(e) for e in bins.edges],
            "rows": [int(n) for n in bins.rows],
            "mean_predicted": _per_bin(bins.score_sums, bins.rows, filled),
            "observed_rate": _per_bin(bins.positives, bins.rows, filled),
        },
    }


def _per_bin(sums: np.ndarray, rows: np.ndarray, filled: np.ndarray) -> list[float | None]:
    return [float(total / n) if ok else None for total, n, ok in zip(sums, rows, filled,
                                                                       strict=True)]


def _group_names(groups: Any) -> np.ndarray:
    values = np.asarray(groups, dtype=object).ravel()
    return np.array([MISSING if _missing(v) else str(v) for v in values], dtype=object)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))
