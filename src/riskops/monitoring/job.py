"""The model-monitoring job: fetch two windows, check them, alert, record.

    run_model_monitoring(ws, {"tenantIds": ["acme"], "now": "2026-03-01T00:00:00Z"})
    last_results(ws)    # what the last run found, for GET /risk/insights

One run reads the inference log of the reference and current windows
(``inference_log``: the database or the Parquet lake, with DuckDB), runs
every check (``checks``), emits
``ml.model.drift.detected`` and ``ml.model.performance.degraded`` through the
event outbox in one transaction, sets the drift gauges and counters, and
writes the summary atomically to ``<home>/monitoring/last-run.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.files import atomic_write
from riskops.monitoring.checks import model_id, monitor_frames
from riskops.monitoring.inference_log import open_windows
from riskops.monitoring.windows import MonitoringConfig

JOB_NAME = "model-monitoring"
DRIFT_EVENT = "ml.model.drift.detected"
DEGRADED_EVENT = "ml.model.performance.degraded"
EVENT_SOURCE = "riskops/monitoring"


def last_run_path(ws: Workspace) -> Path:
    return ws.home / "monitoring" / "last-run.json"


def run_model_monitoring(ws: Workspace, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Run every drift and performance check; return ``{driftChecked,
    performanceChecked, events, results, ...}`` (JSON-serialisable).

    ``metadata`` keys are described in ``riskops.monitoring.windows``; a bad
    one raises ``InputError`` naming it.
    """
    config = MonitoringConfig.from_metadata(metadata)
    with open_windows(ws, config, model_id=model_id, source=config.source) as (
            reference, current, source):
        results = _json_safe(monitor_frames(reference, current, config))
    event_ids = _emit_events(ws, results)
    _update_metrics(results)
    summary = {
        "job": JOB_NAME,
        "ranAt": datetime.now(UTC).isoformat(),
        "now": config.now.isoformat(),
        "windows": config.windows(),
        "source": source,
        "tenantIds": list(config.tenants) if config.tenants else None,
        "driftChecked": sum(1 for r in results if _is_drift_check(r)),
        "driftDetected": sum(1 for r in results if _is_drift_check(r) and r.get("drift")),
        "performanceChecked": sum(1 for r in results if r["check"] == "performance"
                                  and r["status"] == "checked"),
        "events": event_ids,
        "results": results,
    }
    _write_atomic(last_run_path(ws), summary)
    return summary


def last_results(ws: Workspace) -> dict[str, Any] | None:
    """The summary of the last monitoring run, or ``None`` before the first one."""
    path = last_run_path(ws)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); "
                         "run `riskops monitor run` to write it again.") from None
    return value if isinstance(value, dict) else None


def _is_drift_check(result: Mapping[str, Any]) -> bool:
    return (result["check"] in ("prediction_drift", "data_drift")
            and result["status"] == "checked")


def _drift_event(result: Mapping[str, Any]) -> dict[str, Any]:
    data = {"modelId": result["modelId"], "tenantId": result["tenantId"],
            "scenario": result["scenario"], "feature": result["feature"], "metric": "psi",
            "value": result["psi"], "threshold": result["threshold"],
            "delta": result["psi"] - result["threshold"]}
    if result.get("segment"):
        data["segment"] = result["segment"]
    return data


def _emit_events(ws: Workspace, results: list[dict[str, Any]]) -> list[str]:
    """Every drift and degradation event of the run, in one outbox transaction."""
    pending: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    for result in results:
        subject = f"{result['modelId']}/{result['tenantId']}"
        if _is_drift_check(result) and result.get("drift"):
            pending.append((DRIFT_EVENT, subject, _drift_event(result), result))
        for degraded in result.get("degraded") or ():
            data = {"modelId": result["modelId"], "tenantId": result["tenantId"],
                    "scenario": result["scenario"], **degraded}
            pending.append((DEGRADED_EVENT, subject, data, result))
    if not pending:
        return []
    from riskops.events import emit
    from riskops.storage.db import write_transaction

    ids: list[str] = []
    with write_transaction(ws.database_url) as session:
        for event_type, subject, data, result in pending:
            event_id = emit(session, ws, type=event_type, subject=subject, data=data,
                            source=EVENT_SOURCE)
            result.setdefault("eventIds", []).append(event_id)
            ids.append(event_id)
    return ids


def _update_metrics(results: list[dict[str, Any]]) -> None:
    """Gauges hold the worst tenant's value per (model, feature); counters count checks."""
    from riskops import metrics

    psi: dict[tuple[str, str], float] = {}
    z: dict[tuple[str, str], float] = {}
    for result in results:
        if not _is_drift_check(result):
            continue
        metrics.DRIFT_CHECKS.inc()
        if result.get("drift"):
            metrics.DRIFT_DETECTIONS.inc()
        if result.get("segment"):
            continue
        key = (result["modelId"], result["feature"])
        psi[key] = max(psi.get(key, 0.0), result["psi"])
        if "z_score" in result:
            score = math.inf if result["z_score"] is None else result["z_score"]
            z[key] = max(z.get(key, 0.0), score)
    for (model, feature), value in psi.items():
        metrics.LAST_DATA_DRIFT_PSI.labels(model=model, feature=feature).set(value)
    for (model, feature), value in z.items():
        metrics.FEATURE_DRIFT_SCORE.labels(model=model, feature=feature).set(value)
    for result in results:
        for degraded in result.get("degraded") or ():
            metrics.PERFORMANCE_DEGRADED.labels(model=result["modelId"],
                                                metric=degraded["metric"]).inc()


def _json_safe(value: Any) -> Any:
    """Plain JSON types: numpy scalars unwrapped, NaN and infinity as ``None``."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_atomic(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0o600: the mode the report has always had (it was written through mkstemp).
    with atomic_write(path, "w", encoding="utf-8", permissions=0o600) as handle:
        json.dump(document, handle, indent=2, sort_keys=True, allow_nan=False)
        handle.write("\n")
