"""The bias audit's maths: per-group rates, the gaps between groups, and the verdict.

    report = bias_report(scores, labels, {"cardholder_age_band": ages},
                         threshold=0.42, limits=BiasLimits())
    report["status"], report["reasons"]
    report["sensitive"]["cardholder_age_band"]["groups"]["65+"]["fpr"]

Predictions are ``scores >= threshold``; ``labels`` are 0/1 with 1 the risky
outcome. Per-group rates come from fairlearn's ``MetricFrame``; ranking and
calibration from scikit-learn plus :func:`expected_calibration_error`.
Each column's ``calibration`` holds every group's Brier, ECE and reliability
table (``riskops.monitoring.calibration``, the bins of ``calibration_curve``)
and names the groups over ``limits.max_group_brier`` or ``max_group_ece``:
reported, never judged, since a segment's miscalibration is a model problem
to fix rather than a fairness verdict.

A rate a group cannot have is ``None``, never NaN: TPR and FNR without
positives, FPR without negatives, ROC AUC without both classes. Precision of a
group with no predicted positives is 0 (scikit-learn's ``zero_division=0``).
Sensitive values are compared as text; a missing value (``None``, NaN) is the
group ``"(missing)"``.

Only groups of at least ``limits.min_group_size`` rows are judged: the
``differences`` are the largest minus the smallest value (or smallest over
largest, for the ratio) among the judged groups' defined values. A column with
fewer than two judged groups has ``None`` differences and a reason saying it
could not be judged; it does not fail the audit by itself. The verdict
(:func:`bias_verdict`) is apart from the maths and only reads the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import brier_score_loss, precision_score, roc_auc_score

from riskops.governance.policy import BiasLimits
from riskops.monitoring.calibration import CALIBRATION_BINS, group_calibration
from riskops.monitoring.verdicts import calibration_breaches
from riskops.training import metrics

__all__ = [
    "DIFFERENCES",
    "GROUP_METRICS",
    "MISSING_GROUP",
    "bias_report",
    "bias_verdict",
    "column_report",
    "expected_calibration_error",
]

#: The group name of rows whose sensitive value is missing.
MISSING_GROUP = "(missing)"
#: The keys of one group's entry, in the order tables show them.
GROUP_METRICS = ("count", "positives", "selection_rate", "tpr", "fpr", "fnr", "precision",
                 "roc_auc", "brier", "calibration_error", "too_small")
#: The keys of a column's ``differences``.
DIFFERENCES = ("demographic_parity_difference", "demographic_parity_ratio",
               "equalized_odds_difference", "equal_opportunity_difference", "fpr_difference",
               "fnr_difference", "calibration_gap")


# -- calibration ------------------------------------------------------------------------


def expected_calibration_error(scores: Any, labels: Any, *,
                               n_bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error of ``scores`` against 0/1 ``labels``: the one of
    ``riskops.training.metrics`` (the bins of ``calibration_curve``: ``(k/n, (k+1)/n]``,
    the first also holding 0), with the arguments in the audit's order.

    Examples
    --------
    >>> round(expected_calibration_error([0.05, 0.05, 0.95, 0.95], [0, 0, 1, 1]), 6)
    0.05
    """
    return metrics.expected_calibration_error(labels, scores, n_bins=n_bins)


# -- per group ---------------------------------------------------------------------------


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    return float(roc_auc_score(y, s)) if 0 < y.sum() < y.size else math.nan


def _brier(y: np.ndarray, s: np.ndarray) -> float:
    return float(brier_score_loss(y, s, pos_label=1))


def _calibration(y: np.ndarray, s: np.ndarray) -> float:
    return expected_calibration_error(s, y)  # MetricFrame passes (y_true, y_pred)


def _precision(y: np.ndarray, p: np.ndarray) -> float:
    return float(precision_score(y, p, zero_division=0))


_PREDICTION_METRICS: dict[str, Callable[..., float]] = {
    "selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate,
    "fnr": false_negative_rate, "precision": _precision,
}
_SCORE_METRICS: dict[str, Callable[..., float]] = {
    "roc_auc": _auc, "brier": _brier, "calibration_error": _calibration,
}


def _group_names(values: Any, rows: int, column: str) -> np.ndarray:
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) \
        else values.astype(object).reset_index(drop=True)
    if len(series) != rows:
        raise ValueError(f"sensitive column {column!r} has {len(series)} values; scores "
                         f"have {rows}.")
    return np.array([MISSING_GROUP if _missing(v) else str(v) for v in series], dtype=object)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (
        isinstance(value, float | np.floating) and math.isnan(value))


def _defined(value: float, ok: bool) -> float | None:
    return float(value) if ok and not math.isnan(value) else None


def column_report(scores: np.ndarray, labels: np.ndarray, predictions: np.ndarray,
                  groups: np.ndarray, *, min_group_size: int) -> dict[str, Any]:
    """One sensitive column's ``groups``, ``differences``, ``judged_groups`` and
    ``too_small_groups`` (see the module docstring); arrays already checked."""
    by_prediction = MetricFrame(metrics=_PREDICTION_METRICS, y_true=labels, y_pred=predictions,
                                sensitive_features=pd.Series(groups, name="group")).by_group
    by_score = MetricFrame(metrics=_SCORE_METRICS, y_true=labels, y_pred=scores,
                           sensitive_features=pd.Series(groups, name="group")).by_group
    table: dict[str, dict[str, Any]] = {}
    for name in sorted(set(groups.tolist())):
        mask = groups == name
        count = int(mask.sum())
        positives = int(labels[mask].sum())
        negatives = count - positives
        row_p, row_s = by_prediction.loc[name], by_score.loc[name]
        table[name] = {
            "count": count,
            "positives": positives,
            "selection_rate": float(row_p["selection_rate"]),
            "tpr": _defined(row_p["tpr"], positives > 0),
            "fpr": _defined(row_p["fpr"], negatives > 0),
            "fnr": _defined(row_p["fnr"], positives > 0),
            "precision": float(row_p["precision"]),
            "roc_auc": _defined(row_s["roc_auc"], 0 < positives < count),
            "brier": float(row_s["brier"]),
            "calibration_error": float(row_s["calibration_error"]),
            "too_small": count < min_group_size,
        }
    judged = [name for name, g in table.items() if not g["too_small"]]
    return {
        "groups": table,
        "differences": _differences(table, judged),
        "judged_groups": judged,
        "too_small_groups": [name for name, g in table.items() if g["too_small"]],
    }


# -- between groups ----------------------------------------------------------------------


def _gap(groups: Mapping[str, Mapping[str, Any]], judged: list[str], metric: str,
         ) -> tuple[tuple[str, float], tuple[str, float]] | None:
    """The judged groups with the smallest and the largest defined ``metric``: ``(name,
    value)`` each (first by name on ties), or ``None`` with fewer than two values."""
    values = [(name, groups[name][metric]) for name in judged
              if groups[name][metric] is not None]
    if len(values) < 2:
        return None
    low = min(values, key=lambda item: item[1])
    high = max(values, key=lambda item: item[1])
    return low, high


def _difference(groups: Mapping[str, Mapping[str, Any]], judged: list[str],
                metric: str) -> float | None:
    gap = _gap(groups, judged, metric)
    return None if gap is None else float(gap[1][1] - gap[0][1])


def _differences(groups: Mapping[str, Mapping[str, Any]], judged: list[str],
                 ) -> dict[str, float | None]:
    if len(judged) < 2:
        return dict.fromkeys(DIFFERENCES)
    rates = _gap(groups, judged, "selection_rate")
    ratio = None
    if rates is not None and rates[1][1] > 0:
        ratio = float(rates[0][1] / rates[1][1])
    tpr = _difference(groups, judged, "tpr")
    fpr = _difference(groups, judged, "fpr")
    odds = [d for d in (tpr, fpr) if d is not None]
    return {
        "demographic_parity_difference": _difference(groups, judged, "selection_rate"),
        "demographic_parity_ratio": ratio,
        "equalized_odds_difference": max(odds) if odds else None,
        "equal_opportunity_difference": tpr,
        "fpr_difference": fpr,
        "fnr_difference": _difference(groups, judged, "fnr"),
        "calibration_gap": _difference(groups, judged, "calibration_error"),
    }


# -- the report and its verdict ----------------------------------------------------------


def bias_report(scores: Any, labels: Any, sensitive: Mapping[str, Any], *, threshold: float,
                limits: BiasLimits, judged: Collection[str] | None = None) -> dict[str, Any]:
    """Per-group rates and between-group gaps of a scored, labelled sample; and the verdict.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Risk scores in [0, 1].
    labels : array-like of shape (n_samples,)
        Outcomes, 0 or 1 (1: the risky outcome).
    sensitive : mapping of str to array-like of shape (n_samples,)
        Column name -> each row's group; values compared as text, missing
        values form the group ``"(missing)"``.
    threshold : float
        A row is predicted positive when its score is at least ``threshold``.
    limits : BiasLimits
        The largest equalized odds difference, the smallest demographic
        parity ratio, and the smallest group that is judged.
    judged : collection of str, optional
        The columns the verdict is about (default: all). The others are
        reported (``"judged": false``) but cannot fail the audit: segments
        such as industry or region, whose base rates legitimately differ.

    Returns
    -------
    report : dict
        JSON-safe: ``status`` ("pass" or "fail"), ``reasons``, ``threshold``,
        ``rows``, ``limits`` and ``sensitive`` (per column: ``groups``,
        ``differences``, ``judged_groups``, ``too_small_groups``, ``judged`` and
        ``calibration``: see :func:`calibration_section`).

    Raises
    ------
    ValueError
        If the samples are empty or of different lengths, a score is not a
        number in [0, 1], a label is not 0 or 1, ``threshold`` is not finite,
        or ``sensitive`` is empty.

    Examples
    --------
    >>> r = bias_report([0.9, 0.1, 0.8, 0.2], [1, 0, 1, 0], {"band": ["a", "a", "b", "b"]},
    ...                 threshold=0.5, limits=BiasLimits(min_group_size=1))
    >>> r["status"], r["sensitive"]["band"]["differences"]["equalized_odds_difference"]
    ('pass', 0.0)
    """
    s, y = _checked(scores, labels)
    if not isinstance(threshold, int | float) or not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}.")
    if not sensitive:
        raise ValueError("sensitive is empty; give at least one column of groups.")
    predictions = (s >= threshold).astype(np.int64)
    names = {str(name): _group_names(values, s.size, str(name))
             for name, values in sensitive.items()}
    columns = {name: column_report(s, y, predictions, groups,
                                   min_group_size=limits.min_group_size)
               for name, groups in names.items()}
    chosen = set(columns) if judged is None else {str(c) for c in judged}
    for name, section in columns.items():
        section["judged"] = name in chosen
        section["calibration"] = calibration_section(s, y, names[name], limits)
    status, reasons = bias_verdict({n: c for n, c in columns.items() if c["judged"]}, limits)
    return {
        "status": status,
        "reasons": reasons,
        "threshold": float(threshold),
        "rows": int(s.size),
        "limits": {"max_equalized_odds_difference": limits.max_equalized_odds_difference,
                   "min_demographic_parity_ratio": limits.min_demographic_parity_ratio,
                   "min_group_size": limits.min_group_size},
        "sensitive": columns,
    }


def calibration_section(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray,
                        limits: BiasLimits) -> dict[str, Any]:
    """Brier, ECE and reliability table of each group (``groups`` too small are skipped),
    and the groups over ``limits.max_group_brier`` or ``limits.max_group_ece``."""
    thresholds = {"brier": limits.max_group_brier, "ece": limits.max_group_ece}
    entries = group_calibration(labels, scores, groups, n_bins=CALIBRATION_BINS,
                                min_rows=limits.min_group_size)
    for entry in entries.values():
        entry["degraded"] = calibration_breaches(entry, thresholds)
    return {"n_bins": CALIBRATION_BINS, "strategy": "uniform", "min_rows": limits.min_group_size,
            "thresholds": thresholds, "groups": entries,
            "miscalibrated": [name for name, e in entries.items() if e["degraded"]]}


def bias_verdict(columns: Mapping[str, Mapping[str, Any]], limits: BiasLimits,
                 ) -> tuple[str, list[str]]:
    """``("fail", reasons)`` if a column breaks a limit, else ``("pass", reasons)``.

    A column fails when its equalized odds difference is above
    ``limits.max_equalized_odds_difference`` or its demographic parity ratio
    below ``limits.min_demographic_parity_ratio``; each reason names the
    column, the metric, the value, the limit and the two groups of the gap.
    A column with fewer than two judged groups adds a reason but does not fail.
    """
    reasons: list[str] = []
    failed = False
    for column, section in columns.items():
        groups, judged = section["groups"], list(section["judged_groups"])
        differences = section["differences"]
        if len(judged) < 2:
            small = ", ".join(f"{name!r} ({groups[name]['count']})"
                              for name in section["too_small_groups"])
            reasons.append(
                f"{column}: could not be judged: {len(judged)} group(s) with at least "
                f"{limits.min_group_size} rows, 2 needed"
                + (f"; too small: {small}" if small else "") + ".")
            continue
        odds = differences["equalized_odds_difference"]
        if odds is not None and odds > limits.max_equalized_odds_difference:
            failed = True
            reasons.append(f"{column}: equalized odds difference {odds:.2f} > "
                           f"{limits.max_equalized_odds_difference:.2f} "
                           f"({_odds_gap(groups, judged, differences)})")
        ratio = differences["demographic_parity_ratio"]
        gap = _gap(groups, judged, "selection_rate")  # a ratio exists only with a gap
        if ratio is not None and gap is not None and ratio < limits.min_demographic_parity_ratio:
            failed = True
            (low_name, low), (high_name, high) = gap
            reasons.append(f"{column}: demographic parity ratio {ratio:.2f} < "
                           f"{limits.min_demographic_parity_ratio:.2f} (selection rate "
                           f"{low:.2f} in {low_name!r} vs {high:.2f} in {high_name!r})")
    return ("fail" if failed else "pass"), reasons


def _odds_gap(groups: Mapping[str, Mapping[str, Any]], judged: list[str],
              differences: Mapping[str, Any]) -> str:
    """``fpr 0.31 in '65+' vs 0.08 in '25-34'``: the rate that makes the odds difference."""
    tpr, fpr = differences["equal_opportunity_difference"], differences["fpr_difference"]
    metric = "fpr" if tpr is None or (fpr is not None and fpr >= tpr) else "tpr"
    gap = _gap(groups, judged, metric)
    if gap is None:
        return metric
    (low_name, low), (high_name, high) = gap
    return f"{metric} {high:.2f} in {high_name!r} vs {low:.2f} in {low_name!r}"


def _checked(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        s = np.asarray(scores, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError("scores must be numbers in [0, 1].") from None
    y_raw = np.asarray(labels).ravel()
    if s.size == 0:
        raise ValueError("scores is empty; a bias audit needs scored rows.")
    if s.size != y_raw.size:
        raise ValueError(f"scores ({s.size}) and labels ({y_raw.size}) must have the same "
                         "length.")
    bad = ~np.isfinite(s) | (s < 0) | (s > 1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"scores must be numbers in [0, 1]; {int(bad.sum())} are not "
                         f"(first: {s[first]:g} at index {first}).")
    try:
        y = y_raw.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("labels must be 0 or 1.") from None
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"labels must be 0 or 1; found {sorted(set(y_raw.tolist()))[:5]}.")
    return s, y.astype(np.int64)
