"""Performance of a risk score: measured with labels, estimated without.

Pure functions over arrays. ``y_true`` is 0/1 (1 = the risky outcome) and
``scores`` are risk scores in [0, 1], validated as in
``riskops.training.metrics`` (whose ``classification_metrics`` computes the
labelled metrics).

Without labels, confidence-based performance estimation (CBPE, as NannyML
does it) treats each calibrated score ``p`` as the probability that the row's
label is 1. A row predicted risky (``p >= threshold``) is then a true
positive with probability ``p`` and a false positive with ``1 - p``; a row
predicted safe is a false negative with ``p`` and a true negative with
``1 - p``. Summing gives the expected confusion matrix, and from it any
metric. The estimates are right on average when the scores are calibrated
and ``P(y | x)`` has not changed (no concept drift); covariate shift is fine.

    labelled_performance(y, s, threshold=0.5)   # brier, mae, roc_auc, f1, ece, ...
    estimated_performance(s, threshold=0.5)     # the same names, expected values
    c = calibrate(ref_scores, ref_labels, s)    # isotonic map fitted on labelled rows
    estimated_performance(s, threshold=0.5, probabilities=c)
    override_rate(overrides), label_mix(labels) # proxies when no labels come back
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from riskops.training.metrics import (
    check_binary_scores,
    check_scores,
    classification_metrics,
)

__all__ = [
    "calibrate",
    "estimated_confusion",
    "estimated_performance",
    "estimated_roc_auc",
    "label_mix",
    "labelled_performance",
    "mean_absolute_error",
    "override_rate",
]


def mean_absolute_error(y_true: Any, scores: Any) -> float:
    """Mean absolute gap between the 0/1 outcome and the risk score.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 outcomes.
    scores : array-like of shape (n_samples,)
        Risk scores in [0, 1].

    Returns
    -------
    mae : float
        ``mean(|y_true - scores|)``, in [0, 1]; smaller is better.

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, or out of range.

    Examples
    --------
    >>> mean_absolute_error([0, 1], [0.25, 0.75])
    0.25
    """
    y, s = check_binary_scores(y_true, scores)
    return float(np.mean(np.abs(y - s)))


def labelled_performance(y_true: Any, scores: Any, *, threshold: float) -> dict[str, Any]:
    """Brier, MAE, ROC AUC, precision/recall/F1 at ``threshold``, ECE and more.

    A row is predicted risky when ``score >= threshold``. Metrics a sample
    cannot define (ROC AUC with one class, precision with nothing predicted
    risky) are ``None``, with the reason under ``undefined``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 outcomes.
    scores : array-like of shape (n_samples,)
        Risk scores in [0, 1].
    threshold : float
        Decision threshold on the score.

    Returns
    -------
    dict
        ``rows``, ``positives``, ``positive_rate``, ``threshold``, ``roc_auc``,
        ``pr_auc``, ``f1``, ``precision``, ``recall``, ``brier``, ``log_loss``,
        ``ece`` (10 equal-width bins), ``mae`` and ``undefined``.

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, or out of range.
    """
    result = classification_metrics(y_true, scores, threshold)
    result["mae"] = mean_absolute_error(y_true, scores)
    return result


def _probabilities(scores: np.ndarray, probabilities: Any) -> np.ndarray:
    if probabilities is None:
        return scores
    c = check_scores(probabilities, name="probabilities")
    if c.size != scores.size:
        raise ValueError(f"probabilities and scores have different lengths "
                         f"({c.size} != {scores.size}).")
    return c


def estimated_confusion(scores: Any, *, threshold: float,
                        probabilities: Any = None) -> dict[str, float]:
    """Expected true/false positives and negatives of decisions ``scores >= threshold``.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        The model's risk scores; a row is predicted risky when its score is
        at least ``threshold``.
    threshold : float
    probabilities : array-like of shape (n_samples,), default=None
        Calibrated probability of the risky outcome per row (see
        ``calibrate``); ``None`` takes the scores themselves as calibrated.

    Returns
    -------
    dict
        ``tp``, ``fp``, ``tn``, ``fn``: expected counts (floats summing to n).

    Raises
    ------
    ValueError
        If an input is empty, not 1-D, misaligned or outside [0, 1].

    Examples
    --------
    >>> estimated_confusion([0.9, 0.2], threshold=0.5)
    {'tp': 0.9, 'fp': 0.09999999999999998, 'tn': 0.8, 'fn': 0.2}
    """
    s = check_scores(scores)
    c = _probabilities(s, probabilities)
    risky = s >= threshold
    return {
        "tp": float(c[risky].sum()), "fp": float((1 - c[risky]).sum()),
        "tn": float((1 - c[~risky]).sum()), "fn": float(c[~risky].sum()),
    }


def estimated_roc_auc(scores: Any, probabilities: Any = None) -> float | None:
    """Expected ROC AUC of ``scores`` (CBPE).

    With ``c`` the calibrated probabilities (the scores themselves by
    default), at every distinct score ``t`` the expected true and false
    positive rates are ``sum(s >= t) c / sum c`` and ``sum(s >= t) (1 - c) /
    sum (1 - c)``; the area under that curve is integrated with trapezoids.
    Equivalently: ROC AUC over a sample in which every row appears once as a
    positive with weight ``c`` and once as a negative with weight ``1 - c``.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        The model's risk scores, which rank the rows.
    probabilities : array-like of shape (n_samples,), default=None
        Calibrated probabilities of the risky outcome; ``None``: ``scores``.

    Returns
    -------
    auc : float or None
        ``None`` when no positives or no negatives are expected (every
        probability 0, or every one 1).

    Raises
    ------
    ValueError
        If an input is empty, not 1-D, misaligned or outside [0, 1].

    Examples
    --------
    >>> estimated_roc_auc([0.5, 0.5])
    0.5
    """
    s = check_scores(scores)
    c = _probabilities(s, probabilities)
    order = np.argsort(-s, kind="stable")
    ranked, weights = s[order], c[order]
    tp = np.cumsum(weights)
    fp = np.cumsum(1 - weights)
    if tp[-1] <= 0 or fp[-1] <= 0:
        return None
    last_of_value = np.r_[np.diff(ranked) != 0, True]
    tpr = np.r_[0.0, tp[last_of_value] / tp[-1]]
    fpr = np.r_[0.0, fp[last_of_value] / fp[-1]]
    return float(np.trapezoid(tpr, fpr))


def estimated_performance(scores: Any, *, threshold: float,
                          probabilities: Any = None) -> dict[str, Any]:
    """CBPE: the metrics ``labelled_performance`` reports, expected from the scores.

    ``c`` is the calibrated probability of the risky outcome per row
    (``probabilities``, or the scores themselves). From the expected
    confusion matrix (``estimated_confusion``): accuracy, precision, recall
    and F1 are ratios of expected counts, as NannyML computes them. ROC AUC
    comes from ``estimated_roc_auc``. The losses of the scores ``s`` are exact
    expectations: Brier ``mean(c (1 - s)^2 + (1 - c) s^2)`` and MAE
    ``mean(c (1 - s) + (1 - c) s)`` (for calibrated scores, ``mean(s (1 - s))``
    and twice that). ``positive_rate`` is the expected share of risky
    outcomes, ``mean(c)``.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        The model's risk scores.
    threshold : float
        Decision threshold on the scores.
    probabilities : array-like of shape (n_samples,), default=None
        Calibrated probabilities (see ``calibrate``); ``None``: ``scores``.

    Returns
    -------
    dict
        ``rows``, ``threshold``, ``positive_rate``, ``accuracy``, ``precision``,
        ``recall``, ``f1``, ``roc_auc``, ``brier``, ``mae`` and ``undefined``
        (metric -> reason for every ``None``).

    Raises
    ------
    ValueError
        If an input is empty, not 1-D, misaligned or outside [0, 1].

    Examples
    --------
    >>> estimated_performance([0.0, 1.0], threshold=0.5)["accuracy"]
    1.0
    """
    s = check_scores(scores)
    c = _probabilities(s, probabilities)
    cm = estimated_confusion(s, threshold=threshold, probabilities=c)
    tp, fp, tn, fn = cm["tp"], cm["fp"], cm["tn"], cm["fn"]
    undefined: dict[str, str] = {}

    def ratio(name: str, num: float, den: float, why: str) -> float | None:
        if den <= 0:
            undefined[name] = why
            return None
        return num / den

    roc_auc = estimated_roc_auc(s, c)
    if roc_auc is None:
        undefined["roc_auc"] = "no positives or no negatives expected"
    return {
        "rows": int(s.size), "threshold": float(threshold), "positive_rate": float(c.mean()),
        "accuracy": (tp + tn) / s.size,
        "precision": ratio("precision", tp, tp + fp, "no rows predicted positive"),
        "recall": ratio("recall", tp, tp + fn, "no positives expected"),
        "f1": ratio("f1", 2 * tp, 2 * tp + fp + fn, "no positives expected or predicted"),
        "roc_auc": roc_auc,
        "brier": float(np.mean(c * (1 - s) ** 2 + (1 - c) * s**2)),
        "mae": float(np.mean(c * (1 - s) + (1 - c) * s)),
        "undefined": undefined,
    }


def calibrate(reference_scores: Any, reference_labels: Any, scores: Any) -> np.ndarray:
    """``scores`` mapped to probabilities by isotonic regression fitted on labelled rows.

    CBPE needs calibrated probabilities; a heuristic's points or a drifting
    model's scores may not be. Pass the result as ``probabilities`` to the
    ``estimated_*`` functions, the raw scores as ``scores``. Fitted on the
    reference window's scores and outcomes, the monotone map keeps the
    ranking and fixes the level; scores outside the fitted range are clipped
    to its ends.

    Parameters
    ----------
    reference_scores : array-like of shape (n_reference,)
        Scores in [0, 1] whose outcomes are known.
    reference_labels : array-like of shape (n_reference,)
        Their 0/1 outcomes; both classes must occur.
    scores : array-like of shape (n_samples,)
        Scores to calibrate.

    Returns
    -------
    calibrated : ndarray of shape (n_samples,)
        In [0, 1].

    Raises
    ------
    ValueError
        If an input is empty, misaligned or out of range, or the reference
        outcomes hold a single class.

    Examples
    --------
    >>> calibrate([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], [0.15, 0.95]).tolist()
    [0.0, 1.0]
    """
    from sklearn.isotonic import IsotonicRegression

    y, s = check_binary_scores(reference_labels, reference_scores, name="reference_scores")
    if y.min() == y.max():
        raise ValueError(f"reference_labels hold only the class {int(y[0])}; calibration "
                         "needs outcomes of both classes.")
    target = check_scores(scores)
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s, y)
    return np.clip(model.predict(target), 0.0, 1.0)


def override_rate(overrides: Any) -> float:
    """Share of predictions a reviewer overrode.

    Parameters
    ----------
    overrides : array-like of bool, shape (n_samples,)

    Returns
    -------
    rate : float
        In [0, 1].

    Raises
    ------
    ValueError
        If ``overrides`` is empty or not 1-D.

    Examples
    --------
    >>> override_rate([True, False, False, False])
    0.25
    """
    flags = np.asarray(overrides, dtype=bool)
    if flags.ndim != 1:
        raise ValueError(f"overrides must be 1-D, got shape {flags.shape}.")
    if flags.size == 0:
        raise ValueError("overrides is empty; the override rate needs at least one prediction.")
    return float(flags.mean())


def label_mix(labels: Any) -> dict[str, float]:
    """Share of each predicted label, sorted by label.

    Examples
    --------
    >>> label_mix(["1", "0", "0", "0"])
    {'0': 0.75, '1': 0.25}
    """
    values = [str(v) for v in np.asarray(labels, dtype=object).ravel()]
    if not values:
        raise ValueError("labels is empty; the label mix needs at least one prediction.")
    counts = Counter(values)
    return {label: counts[label] / len(values) for label in sorted(counts)}
