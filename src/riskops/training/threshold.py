"""Choosing the decision threshold: the one that maximises F1 on validation data.

Why F1: risk teams review what the model flags, so both missed risky cases
(recall) and wasted reviews (precision) cost; F1 weighs them equally and,
unlike accuracy, is not inflated by the many low-risk rows. The threshold is
chosen on the validation slice, never on training rows, and checked on the
golden slice.

Candidates are the distinct validation scores (a row is flagged when
``score >= threshold``; any threshold between two neighbouring scores flags
the same rows). F1 is computed exactly as ``2TP / (2TP + FP + FN)`` from
integer counts, so equal F1 values compare equal. Ties go to the highest
threshold: the same F1 with fewer rows flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from riskops.training.metrics import check_binary_scores

RULE = "maximise F1 on the validation slice"
TIE_BREAK = "highest threshold among equal F1 (fewest rows flagged)"


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen threshold, its validation F1, and how it was chosen."""

    threshold: float
    f1: float | None
    rule: str
    reason: str | None = None  # why the fallback was used, when it was

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.threshold, "validation_f1": self.f1, "rule": self.rule,
                "tie_break": TIE_BREAK, "fallback_reason": self.reason}


def f1_by_threshold(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(thresholds, f1)``: each distinct score, ascending, and the F1 of ``score >= it``.

    Examples
    --------
    >>> t, f1 = f1_by_threshold([0, 1, 1], [0.1, 0.4, 0.8])
    >>> t.tolist(), [round(v, 3) for v in f1.tolist()]
    ([0.1, 0.4, 0.8], [0.8, 1.0, 0.667])
    """
    y, s = check_binary_scores(y_true, scores)
    order = np.argsort(s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    thresholds = np.unique(s_sorted)
    first = np.searchsorted(s_sorted, thresholds, side="left")  # rows below are not flagged
    positives_below = np.concatenate([[0], np.cumsum(y_sorted)])[first]
    total_positives = int(y.sum())
    tp = total_positives - positives_below
    flagged = len(s) - first
    fp = flagged - tp
    fn = total_positives - tp
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), np.nan)
    return thresholds, f1


def choose_threshold(y_true: Any, scores: Any, *, fallback: float) -> ThresholdChoice:
    """The threshold maximising F1 of ``score >= threshold`` (ties: the highest).

    Without a positive row F1 is 0 or undefined at every threshold; then
    ``fallback`` (the scenario's default threshold) is returned, with the reason.
    """
    y, s = check_binary_scores(y_true, scores)
    if y.sum() == 0:
        return ThresholdChoice(float(fallback), None, "scenario default threshold",
                               "no positive rows in the validation slice, F1 cannot choose")
    thresholds, f1 = f1_by_threshold(y, s)
    best = np.flatnonzero(f1 == np.nanmax(f1))[-1]  # ascending thresholds: last = highest
    return ThresholdChoice(float(thresholds[best]), float(f1[best]), RULE)
