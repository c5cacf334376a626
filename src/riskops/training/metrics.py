"""Evaluation metrics of a binary risk score: pure functions over arrays.

``y_true`` is 0/1 (1 = the risky outcome), ``scores`` are risk scores in
[0, 1]. Metrics that a slice cannot define (ROC AUC with a single class, F1
with no positives at all) are ``None``, with the reason under ``undefined``;
they never raise and never become NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from riskops.arrays import float_vector

#: The metrics every evaluation reports, in display order.
METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "brier", "log_loss", "ece")
#: Larger is better for these; smaller is better for the rest.
HIGHER_IS_BETTER = frozenset({"roc_auc", "pr_auc", "f1", "precision", "recall"})
MIN_SEGMENT_ROWS = 30


def check_scores(scores: Any, *, name: str = "scores") -> np.ndarray:
    """``scores`` as a 1-D float array; ``ValueError`` naming ``name`` if it is empty,
    not 1-D, holds NaN or infinity, or leaves [0, 1]."""
    return float_vector(scores, name=name, unit_interval=True,
                        nonfinite_fix="every row needs a score")


def check_binary_scores(y_true: Any, scores: Any, *, name: str = "scores") -> tuple[
    np.ndarray, np.ndarray
]:
    """Validate and return ``(y_true, scores)`` as 1-D int and float arrays.

    Raises
    ------
    ValueError
        Naming the input: not 1-D, empty, different lengths, labels other than
        0/1, scores with NaN or infinity or outside [0, 1].
    """
    s = check_scores(scores, name=name)
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {y.shape}.")
    if len(y) != len(s):
        raise ValueError(f"y_true and {name} have different lengths ({len(y)} != {len(s)}).")
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"y_true must hold only 0 and 1, found {sorted(values, key=str)[:5]}.")
    return y.astype(int), s


#: How ``reliability_bins`` draws its bin edges (as ``sklearn.calibration.calibration_curve``).
STRATEGIES = ("uniform", "quantile")


class ReliabilityBins(NamedTuple):
    """Per-bin sums of a reliability diagram; see ``reliability_bins``.

    ``edges`` has ``n_bins + 1`` entries; ``rows``, ``positives`` and
    ``score_sums`` have ``n_bins`` (a bin may be empty).
    """

    edges: np.ndarray
    rows: np.ndarray
    positives: np.ndarray
    score_sums: np.ndarray


def reliability_bins(y_true: Any, y_prob: Any, *, n_bins: int = 10,
                     strategy: str = "uniform") -> ReliabilityBins:
    """Rows, positives and summed scores per probability bin (a reliability diagram).

    The binning of ``sklearn.calibration.calibration_curve``: ``"uniform"``
    edges are ``linspace(0, 1, n_bins + 1)``, ``"quantile"`` edges the
    percentiles of ``y_prob`` (tied edges leave empty bins). Bin ``k`` is
    ``(edges[k], edges[k+1]]``, the first also holding its lower edge, so a
    score on an inner edge falls in the bin below it.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 outcomes.
    y_prob : array-like of shape (n_samples,)
        Predicted probabilities of 1, in [0, 1].
    n_bins : int, default=10
    strategy : {"uniform", "quantile"}, default="uniform"

    Returns
    -------
    ReliabilityBins
        ``edges``, and per bin ``rows``, ``positives`` and ``score_sums``.

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, hold NaN or values out
        of range, ``n_bins`` is below 1 or ``strategy`` is unknown.

    Examples
    --------
    >>> b = reliability_bins([0, 1, 1, 1], [0.25, 0.25, 0.75, 0.75], n_bins=2)
    >>> b.edges.tolist(), b.rows.tolist(), b.positives.tolist()
    ([0.0, 0.5, 1.0], [2, 2], [1.0, 2.0])
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}.")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}.")
    y, p = check_binary_scores(y_true, y_prob, name="y_prob")
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.percentile(p, np.linspace(0.0, 1.0, n_bins + 1) * 100)
    bins = np.searchsorted(edges[1:-1], p, side="left")
    return ReliabilityBins(edges, np.bincount(bins, minlength=n_bins),
                           np.bincount(bins, weights=y, minlength=n_bins),
                           np.bincount(bins, weights=p, minlength=n_bins))


def expected_calibration_error(y_true: Any, y_prob: Any, *, n_bins: int = 10,
                               strategy: str = "uniform") -> float:
    """Expected calibration error over the bins of ``reliability_bins``.

    Bins are ``(k/n_bins, (k+1)/n_bins]``, the first also holding 0 (the
    binning of ``sklearn.calibration.calibration_curve(strategy="uniform")``;
    ``strategy="quantile"`` takes its quantile bins instead).
    In each non-empty bin the observed rate of positives is compared with the
    mean predicted probability; the absolute gaps are averaged, weighted by
    the share of rows in the bin.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 outcomes.
    y_prob : array-like of shape (n_samples,)
        Predicted probabilities of 1, in [0, 1].
    n_bins : int, default=10
    strategy : {"uniform", "quantile"}, default="uniform"

    Returns
    -------
    ece : float
        0.0 for perfect calibration; at most 1.0.

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, hold NaN or values out
        of range, or ``n_bins`` is below 1.

    Examples
    --------
    >>> expected_calibration_error([0, 1, 1, 1], [0.25, 0.25, 0.75, 0.75], n_bins=2)
    0.25
    """
    bins = reliability_bins(y_true, y_prob, n_bins=n_bins, strategy=strategy)
    gaps = np.abs(bins.positives - bins.score_sums)  # = count * |rate - mean probability|
    return float(gaps[bins.rows > 0].sum() / bins.rows.sum())


def classification_metrics(y_true: Any, scores: Any, threshold: float) -> dict[str, Any]:
    """ROC AUC, PR AUC, F1/precision/recall at ``threshold``, Brier, log loss and ECE.

    A row is predicted risky when ``score >= threshold``. PR AUC is average
    precision. Log loss clips scores to ``[1e-15, 1 - 1e-15]``.

    Returns
    -------
    dict
        ``rows``, ``positives``, ``positive_rate``, ``threshold``, each name in
        ``METRICS`` (a float or ``None``), and ``undefined``: metric -> reason
        for every ``None``.
    """
    from sklearn.metrics import (
        average_precision_score,
        brier_score_loss,
        log_loss,
        roc_auc_score,
    )

    y, s = check_binary_scores(y_true, scores)
    positives = int(y.sum())
    predicted = s >= threshold
    tp = int(np.sum(predicted & (y == 1)))
    fp = int(np.sum(predicted & (y == 0)))
    fn = positives - tp
    undefined: dict[str, str] = {}
    result: dict[str, Any] = {
        "rows": len(y), "positives": positives, "positive_rate": positives / len(y),
        "threshold": float(threshold),
    }
    if 0 < positives < len(y):
        result["roc_auc"] = float(roc_auc_score(y, s))
        result["pr_auc"] = float(average_precision_score(y, s))
    else:
        reason = f"only one class in y_true (all {int(y[0])}, {len(y)} rows)"
        result["roc_auc"] = result["pr_auc"] = None
        undefined["roc_auc"] = undefined["pr_auc"] = reason
    result["f1"] = _ratio(2 * tp, 2 * tp + fp + fn, "f1", undefined,
                          "no positives in y_true and none predicted")
    result["precision"] = _ratio(tp, tp + fp, "precision", undefined,
                                 "no rows predicted positive")
    result["recall"] = _ratio(tp, positives, "recall", undefined, "no positives in y_true")
    result["brier"] = float(brier_score_loss(y, s))
    clipped = np.clip(s, 1e-15, 1 - 1e-15)
    result["log_loss"] = float(log_loss(y, clipped, labels=[0, 1]))
    result["ece"] = expected_calibration_error(y, s)
    result["undefined"] = undefined
    return {k: result[k] for k in ("rows", "positives", "positive_rate", "threshold",
                                   *METRICS, "undefined")}


def _ratio(num: int, den: int, name: str, undefined: dict[str, str], why: str) -> float | None:
    if den == 0:
        undefined[name] = why
        return None
    return num / den


def segment_metrics(
    frame: pd.DataFrame, columns: Sequence[str], *, y_true: Any, scores: Any, threshold: float,
    min_rows: int = MIN_SEGMENT_ROWS,
) -> dict[str, Any]:
    """``classification_metrics`` per value of each segment column.

    ``y_true`` and ``scores`` are aligned with the rows of ``frame``. A value
    with fewer than ``min_rows`` rows is skipped, with the reason; so is a
    column ``frame`` does not have. Empty cells form the value ``"(missing)"``.

    Returns
    -------
    dict
        column -> {"values": {value: metrics or {"rows", "skipped"}}} or
        column -> {"skipped": reason}.
    """
    y, s = check_binary_scores(y_true, scores)
    if len(frame) != len(y):
        raise ValueError(f"frame has {len(frame)} rows but y_true has {len(y)}.")
    result: dict[str, Any] = {}
    for column in columns:
        if column not in frame.columns:
            result[column] = {"skipped": f"column {column!r} is not in the data"}
            continue
        keys = frame[column].astype(object).where(frame[column].notna(), "(missing)")
        keys = keys.astype(str).to_numpy()
        values: dict[str, Any] = {}
        for value in sorted(set(keys.tolist())):
            mask = keys == value
            n = int(mask.sum())
            if n < min_rows:
                values[value] = {"rows": n, "skipped": f"fewer than {min_rows} rows"}
            else:
                values[value] = classification_metrics(y[mask], s[mask], threshold)
        result[column] = {"values": values}
    return result


def metric_deltas(
    candidate: Mapping[str, Any], reference: Mapping[str, Any]
) -> dict[str, float | None]:
    """``candidate - reference`` per metric in ``METRICS``; ``None`` where either is ``None``.

    Positive is better for ``HIGHER_IS_BETTER`` metrics, worse for the losses.
    """
    deltas: dict[str, float | None] = {}
    for name in METRICS:
        a, b = candidate.get(name), reference.get(name)
        deltas[name] = None if a is None or b is None else float(a) - float(b)
    return deltas
