"""The numbers of one monitoring run worth charting over time, as flat points.

Pure: ``history_points(results)`` turns the run's result dicts (``checks.py``)
into one point per (tenant, model, check, feature, metric), the rows
``storage.monitoring_points`` keeps so the console can chart drift and
performance across runs. Skipped checks, segment slices and training skew
(a comparison with the fixed training profile, not a trend) are left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

#: Performance metrics charted, realised (labelled) or estimated (CBPE).
PERFORMANCE_METRICS = ("brier", "mae", "roc_auc", "f1", "ece")
_DRIFT_CHECKS = ("data_drift", "prediction_drift")


class Point(TypedDict):
    tenant_id: str
    model_id: str
    check_name: str
    feature: str
    metric: str
    value: float | None
    breach: bool


def history_points(results: Iterable[Mapping[str, Any]]) -> list[Point]:
    """One point per charted number of ``results``; ``value`` is None when not finite."""
    points: list[Point] = []
    for result in results:
        if result.get("status") != "checked" or result.get("segment"):
            continue
        check = result.get("check")
        head = {"tenant_id": str(result.get("tenantId")), "model_id": str(result.get("modelId")),
                "check_name": str(check)}
        if check in _DRIFT_CHECKS:
            feature = str(result.get("feature"))
            if "psi" in result:
                points.append(Point(**head, feature=feature, metric="psi",
                                    value=_finite(result["psi"]),
                                    breach=bool(result.get("drift"))))
            if "z_score" in result:
                points.append(Point(**head, feature=feature, metric="z_score",
                                    value=_finite(result["z_score"]),
                                    breach=bool(result.get("z_score_alert"))))
        elif check == "performance":
            prefix = "estimated_" if result.get("mode") == "estimated" else ""
            metrics = result.get("metrics") or {}
            degraded = {d.get("metric") for d in result.get("degraded") or ()}
            for name in PERFORMANCE_METRICS:
                if name in metrics:
                    points.append(Point(**head, feature="", metric=f"{prefix}{name}",
                                        value=_finite(metrics[name]),
                                        breach=f"{prefix}{name}" in degraded))
    return points


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
