"""What the numbers mean: drift and performance thresholds and their verdicts.

The PSI bands are the industry rule of thumb DESIGN.md adopts: below 0.1 the
population is stable, 0.1 to 0.25 deserves watching, above 0.25 it has
shifted. Events fire at ``DEFAULT_PSI_ALERT`` (0.2), inside the watch band,
so an alert arrives before the shift is gross; the threshold is configurable
per run.

    psi_verdict(0.05)                   # "stable"
    psi_verdict(0.3)                    # "alert"
    is_drift(0.21)                      # True: over the 0.2 event threshold
    is_degraded("brier", 0.23)          # True: over the 0.2 Brier threshold
    calibration_breaches({"status": "checked", "brier": 0.1, "ece": 0.15})
    # [{"metric": "ece", "value": 0.15, "threshold": 0.1}]: a miscalibrated segment
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Verdict = Literal["stable", "monitor", "alert"]

#: Upper edge of "stable" and lower edge of "alert" in the PSI guidance.
PSI_STABLE_BELOW = 0.1
PSI_ALERT_ABOVE = 0.25
#: PSI above which ``ml.model.drift.detected`` is emitted.
DEFAULT_PSI_ALERT = 0.2
#: The ``ml_feature_drift_score`` alert rule: over 3.0 for 3 consecutive evaluations.
Z_SCORE_ALERT = 3.0
#: Fewer rows than this in a window and the check is skipped, saying so.
MIN_SAMPLES = 30
#: Loss metrics over these are ``ml.model.performance.degraded``.
DEFAULT_DEGRADATION: Mapping[str, float] = {"brier": 0.2, "mae": 0.2}
#: A segment's Brier or ECE over these is a miscalibrated segment. Brier as for the
#: whole population; ECE 0.1: the scores are off by ten points on average.
DEFAULT_SEGMENT_CALIBRATION: Mapping[str, float] = {"brier": 0.2, "ece": 0.1}


def psi_verdict(value: float) -> Verdict:
    """``"stable"`` below 0.1, ``"monitor"`` from 0.1 to 0.25, ``"alert"`` above 0.25."""
    if value < PSI_STABLE_BELOW:
        return "stable"
    if value <= PSI_ALERT_ABOVE:
        return "monitor"
    return "alert"


def is_drift(psi_value: float, threshold: float = DEFAULT_PSI_ALERT) -> bool:
    """True when ``psi_value`` is over the event threshold (strictly greater)."""
    return psi_value > threshold


def is_degraded(metric: str, value: float | None, thresholds: Mapping[str, float]
                = DEFAULT_DEGRADATION) -> bool:
    """True when a loss ``metric`` with a threshold is strictly over it.

    Metrics without a threshold, and undefined values (``None``), are never degraded.
    """
    limit = thresholds.get(metric)
    return limit is not None and value is not None and value > limit


def calibration_breaches(entry: Mapping[str, Any], thresholds: Mapping[str, float]
                         = DEFAULT_SEGMENT_CALIBRATION) -> list[dict[str, Any]]:
    """The metrics of one checked ``calibration.group_calibration`` entry over their threshold.

    ``[{"metric", "value", "threshold"}]`` in the order of ``thresholds``; a
    skipped entry has none.
    """
    if entry.get("status") != "checked":
        return []
    return [{"metric": name, "value": entry[name], "threshold": limit}
            for name, limit in thresholds.items()
            if is_degraded(name, entry.get(name), thresholds)]


def segment_verdicts(column: str, by_value: Mapping[str, Mapping[str, Any]],
                     thresholds: Mapping[str, float]) -> list[dict[str, Any]]:
    """One entry per value of segment ``column`` (``calibration.group_calibration``'s, in
    its order) with ``segment`` (``"column=value"``), ``column``, ``value`` and its
    ``degraded`` metrics (``calibration_breaches``)."""
    return [{"segment": f"{column}={value}", "column": column, "value": value, **entry,
             "degraded": calibration_breaches(entry, thresholds)}
            for value, entry in by_value.items()]
