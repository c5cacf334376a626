"""Performance metrics from sorted scores: the numbers of ``performance.py``, for big files.

``labelled_performance`` and ``estimated_performance`` build ROC and
precision-recall curves with stable argsorts and scikit-learn's input
checks: right, and about a second per million rows each. ``monitor compare``
measures files of millions of rows per chunk, so it uses these instead: the
same keys, the same values up to floating-point rounding (tests compare them
with ``performance.py`` and scikit-learn), from plain sorts and searches.

    roc_auc_of(y, s)                          # Mann-Whitney U / (P * N), ties count half
    average_precision_of(y, s)                # sklearn's average_precision_score
    weighted_roc_auc(s, c)                    # CBPE's expected ROC AUC
    labelled_metrics(y, s, threshold=0.5)     # == performance.labelled_performance
    estimated_metrics(s, threshold=0.5, probabilities=c)   # == estimated_performance

Inputs are trusted: 1-D, aligned, non-empty, scores and probabilities in
[0, 1], labels 0/1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from riskops.training.metrics import METRICS, expected_calibration_error

__all__ = [
    "average_precision_of",
    "estimated_metrics",
    "labelled_metrics",
    "roc_auc_of",
    "weighted_roc_auc",
]


def roc_auc_of(y: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC: the chance a positive outranks a negative, a tie counting half.

    ``None`` when one class is absent.

    Examples
    --------
    >>> roc_auc_of(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    positive = y == 1
    n_pos = int(positive.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    negatives = np.sort(scores[~positive])
    ranked = np.sort(scores[positive])  # sorted needles: a cache-friendly search
    below = int(np.searchsorted(negatives, ranked, side="left").sum())
    at_or_below = int(np.searchsorted(negatives, ranked, side="right").sum())
    wins = below + (at_or_below - below) / 2
    return wins / (n_pos * n_neg)


def average_precision_of(y: np.ndarray, scores: np.ndarray) -> float | None:
    """Average precision, ``sum_k (R_k - R_k-1) P_k`` over the distinct scores, highest first.

    ``None`` without positives.

    Examples
    --------
    >>> round(average_precision_of(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])), 4)
    0.8333
    """
    positives = np.sort(scores[y == 1])
    if positives.size == 0:
        return None
    ordered = np.sort(scores)
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    values = ordered[first]  # distinct scores, ascending
    at_least = ordered.size - np.flatnonzero(first)  # rows scored >= each value
    hits = positives.size - np.searchsorted(positives, values, side="left")
    recall = hits / positives.size
    precision = hits / at_least
    # Descending thresholds: recall grows from the top value down to the lowest.
    gained = recall - np.r_[recall[1:], 0.0]
    return float(np.sum(gained * precision))


def weighted_roc_auc(scores: np.ndarray, weights: np.ndarray) -> float | None:
    """CBPE's expected ROC AUC: each row a positive with weight ``c``, a negative with ``1 - c``.

    ``None`` when no positives or no negatives are expected.

    Examples
    --------
    >>> weighted_roc_auc(np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    0.5
    """
    order = np.argsort(scores)
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    positive = np.add.reduceat(weights[order], starts)  # expected positives per value
    negative = (np.diff(np.r_[starts, ordered.size])) - positive
    total_pos, total_neg = float(positive.sum()), float(negative.sum())
    if total_pos <= 0 or total_neg <= 0:
        return None
    below = np.cumsum(negative) - negative  # negatives at strictly lower scores
    wins = float(np.sum(positive * (below + negative / 2)))
    return wins / (total_pos * total_neg)


def _ratio(num: float, den: float, name: str, undefined: dict[str, str],
           why: str) -> float | None:
    if den <= 0:
        undefined[name] = why
        return None
    return num / den


def labelled_metrics(y: np.ndarray, scores: np.ndarray, *, threshold: float) -> dict[str, Any]:
    """What ``performance.labelled_performance`` returns, with the same keys and reasons."""
    y = y.astype(int)
    rows = int(y.size)
    positives = int(y.sum())
    predicted = scores >= threshold
    tp = int(np.sum(predicted & (y == 1)))
    fp = int(np.sum(predicted)) - tp
    fn = positives - tp
    undefined: dict[str, str] = {}
    result: dict[str, Any] = {"rows": rows, "positives": positives,
                              "positive_rate": positives / rows, "threshold": float(threshold)}
    if 0 < positives < rows:
        result["roc_auc"] = roc_auc_of(y, scores)
        result["pr_auc"] = average_precision_of(y, scores)
    else:
        reason = f"only one class in y_true (all {int(y[0])}, {rows} rows)"
        result["roc_auc"] = result["pr_auc"] = None
        undefined["roc_auc"] = undefined["pr_auc"] = reason
    result["f1"] = _ratio(2 * tp, 2 * tp + fp + fn, "f1", undefined,
                          "no positives in y_true and none predicted")
    result["precision"] = _ratio(tp, tp + fp, "precision", undefined,
                                 "no rows predicted positive")
    result["recall"] = _ratio(tp, positives, "recall", undefined, "no positives in y_true")
    result["brier"] = float(np.mean((y - scores) ** 2))
    clipped = np.clip(scores, 1e-15, 1 - 1e-15)
    result["log_loss"] = float(-np.mean(np.where(y == 1, np.log(clipped),
                                                 np.log1p(-clipped))))
    result["ece"] = expected_calibration_error(y, scores)
    result["undefined"] = undefined
    ordered = {k: result[k] for k in ("rows", "positives", "positive_rate", "threshold",
                                      *METRICS, "undefined")}
    ordered["mae"] = float(np.mean(np.abs(y - scores)))
    return ordered


def estimated_metrics(scores: np.ndarray, *, threshold: float,
                      probabilities: np.ndarray) -> dict[str, Any]:
    """What ``performance.estimated_performance`` returns, with the same keys and reasons."""
    c = probabilities
    risky = scores >= threshold
    tp = float(c[risky].sum())
    fp = float((1 - c[risky]).sum())
    tn = float((1 - c[~risky]).sum())
    fn = float(c[~risky].sum())
    undefined: dict[str, str] = {}
    roc_auc = weighted_roc_auc(scores, c)
    if roc_auc is None:
        undefined["roc_auc"] = "no positives or no negatives expected"
    return {
        "rows": int(scores.size), "threshold": float(threshold),
        "positive_rate": float(c.mean()), "accuracy": (tp + tn) / scores.size,
        "precision": _ratio(tp, tp + fp, "precision", undefined, "no rows predicted positive"),
        "recall": _ratio(tp, tp + fn, "recall", undefined, "no positives expected"),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn, "f1", undefined,
                     "no positives expected or predicted"),
        "roc_auc": roc_auc,
        "brier": float(np.mean(c * (1 - scores) ** 2 + (1 - c) * scores**2)),
        "mae": float(np.mean(c * (1 - scores) + (1 - c) * scores)),
        "undefined": undefined,
    }
