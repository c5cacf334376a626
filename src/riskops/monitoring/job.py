"""The model-monitoring job: fetch two windows, check them, alert, record.

    run_model_monitoring(ws, {"tenantIds": ["acme"], "now": "2026-03-01T00:00:00Z"})
    last_results(ws)    # what the last run found, for GET /risk/insights

One run reads the inference log of the reference and current windows
(``inference_log``: the database or the Parquet lake, with DuckDB), loads the
reference profiles of the versions that served the current window
(``signed_profiles``), runs every check (``checks``), advances the alert state
of each (``alerting``: an alert fires after ``consecutive`` breaches in a row
and resolves after as many clean evaluations, with one event and one audit
entry per transition), sets the drift gauges and counters, and writes the
summary atomically to ``<home>/monitoring/last-run.json``. With
``MLFLOW_TRACKING_URI`` set it then logs one MLflow run per (model, tenant)
(``mlflow_runs``) and adds what happened under ``mlflow``; a failing store
is recorded there, never fails the run.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskops.arrays import json_safe
from riskops.config import Workspace
from riskops.errors import InputError, IntegrityError
from riskops.files import atomic_write
from riskops.monitoring.alerting import is_drift_check, record_alerts
from riskops.monitoring.checks import model_id, monitor_frames
from riskops.monitoring.history import history_points
from riskops.monitoring.inference_log import open_windows
from riskops.monitoring.signed_profiles import load_profiles
from riskops.monitoring.windows import MonitoringConfig
from riskops.storage.monitoring_points import append_points
from riskops.tracking import ENV_TRACKING_URI, one_line, redact_uri

if TYPE_CHECKING:
    from riskops.monitoring.inference_log import LogWindow

JOB_NAME = "model-monitoring"
logger = logging.getLogger(__name__)


def last_run_path(ws: Workspace) -> Path:
    return ws.home / "monitoring" / "last-run.json"


def _custom_scenarios(ws: Workspace) -> dict[str, Any]:
    """The custom scenarios the signed manifest serves (none when it cannot be verified:
    their checks then infer features from the logged inputs, as for an unknown one)."""
    from riskops.registry.definitions import served_scenarios
    from riskops.registry.trust import read_workspace_manifest

    try:
        return dict(served_scenarios(read_workspace_manifest(ws)))
    except (IntegrityError, InputError, OSError):
        return {}


def run_model_monitoring(ws: Workspace, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Run every drift and performance check; return ``{driftChecked,
    performanceChecked, events, results, ...}`` (JSON-serialisable).

    ``metadata`` keys are described in ``riskops.monitoring.windows``; a bad
    one raises ``InputError`` naming it.
    """
    config = MonitoringConfig.from_metadata(metadata)
    tracked = bool(os.environ.get(ENV_TRACKING_URI))
    with _open_log(ws, config) as (reference, current, source):
        # The versions that served the current window, and only those, are profiled.
        profiles = load_profiles(ws, current.served_versions())
        results = json_safe(monitor_frames(reference, current, config, profiles,
                                           _custom_scenarios(ws)))
        served = _served_versions(current) if tracked else {}
    event_ids = record_alerts(ws, results, now=config.now, consecutive=config.consecutive,
                              degradation=config.degradation)
    _update_metrics(results)
    ran_at = datetime.now(UTC)
    append_points(ws.database_url, history_points(results), ran_at=ran_at,
                  window_end=config.now)
    head = {
        "job": JOB_NAME,
        "ranAt": ran_at.isoformat(),
        "now": config.now.isoformat(),
        "windows": config.windows(),
        "source": source,
        "engine": config.engine,
        "tenantIds": list(config.tenants) if config.tenants else None,
        "consecutive": config.consecutive,
    }
    summary = {**head, **_totals(results), "events": event_ids, "results": results}
    _write_atomic(last_run_path(ws), summary)
    if tracked:  # after the results are recorded: MLflow is a copy, never the record
        summary["mlflow"] = _log_to_mlflow(head, results, served)
        _write_atomic(last_run_path(ws), summary)
    return summary


@contextmanager
def _open_log(ws: Workspace, config: MonitoringConfig) -> Iterator[tuple[Any, Any, str]]:
    """Both windows and the source read, with the run's engine (DuckDB or Spark)."""
    if config.engine != "spark":
        with open_windows(ws, config, model_id=model_id, source=config.source) as windows:
            yield windows
        return
    from riskops.monitoring.spark_log import open_spark_windows
    from riskops.monitoring.spark_session import spark_session

    with spark_session(ws.spark_master) as spark, \
            open_spark_windows(ws, config, model_id=model_id, spark=spark) as windows:
        yield windows


def _totals(results: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "driftChecked": sum(1 for r in results if is_drift_check(r)),
        "driftDetected": sum(1 for r in results if is_drift_check(r) and r.get("drift")),
        "performanceChecked": sum(1 for r in results if r["check"] == "performance"
                                  and r["status"] == "checked"),
        "skewChecked": sum(1 for r in results if r["check"] == "training_skew"
                           and r["status"] == "checked"),
        "skewDetected": sum(1 for r in results if r["check"] == "training_skew"
                            and r["status"] == "checked" and r.get("drift")),
    }


def _served_versions(current: LogWindow) -> dict[tuple[str, str], list[int]]:
    """Per (model, tenant): the versions of that model that served the current window."""
    served: dict[tuple[str, str], set[int]] = {}
    keys = current.keys()  # (tenant, scenario, model), sorted
    for tenant, scenario, model in keys:
        versions = current.select(tenant, scenario, model).versions()
        served.setdefault((model, tenant), set()).update(
            version for name, version in versions if name == model)
    return {key: sorted(versions) for key, versions in served.items()}


def _group_summaries(head: Mapping[str, Any], results: list[dict[str, Any]],
                     served: Mapping[tuple[str, str], list[int]]) -> list[dict[str, Any]]:
    """The summary narrowed to each (model, tenant), as if the run had checked it alone:
    its results, totals and events, plus ``modelId``, ``tenantId`` and ``modelVersions``."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault((result["modelId"], result["tenantId"]), []).append(result)
    return [{**head, "modelId": model, "tenantId": tenant,
             "modelVersions": served.get((model, tenant), []), **_totals(group),
             "events": [i for r in group for i in r.get("eventIds") or ()], "results": group}
            for (model, tenant), group in sorted(groups.items())]


def _log_to_mlflow(head: Mapping[str, Any], results: list[dict[str, Any]],
                   served: Mapping[tuple[str, str], list[int]]) -> dict[str, Any]:
    """``{"status": "logged", "trackingUri", "runs"}``, or ``"failed"`` with the
    ``error`` on one line and the runs logged before it; never raises."""
    from riskops.monitoring.mlflow_runs import log_monitoring_runs

    uri = os.environ.get(ENV_TRACKING_URI, "")
    shown = redact_uri(uri)
    runs: list[dict[str, str]] = []
    try:
        for run in log_monitoring_runs(_group_summaries(head, results, served)):
            runs.append(run)
    except InputError as exc:
        error = str(exc)
    except Exception as exc:  # the results are recorded; MLflow is best effort
        error = f"MLflow at {shown}: {type(exc).__name__}: {one_line(exc, uri)}"
    else:
        return {"status": "logged", "trackingUri": shown, "runs": runs}
    logger.warning("monitoring results are recorded, but logging them to MLflow failed: %s",
                   error)
    return {"status": "failed", "trackingUri": shown, "error": error, "runs": runs}


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


def _update_metrics(results: list[dict[str, Any]]) -> None:
    """Gauges hold the worst tenant's value per (model, feature); counters count checks."""
    from riskops import metrics

    psi: dict[tuple[str, str], float] = {}
    z: dict[tuple[str, str], float] = {}
    for result in results:
        if not is_drift_check(result):
            continue
        metrics.DRIFT_CHECKS.inc()
        if result.get("drift"):
            metrics.DRIFT_DETECTIONS.inc()
        if result.get("segment") or "psi" not in result or \
                result["check"] not in ("prediction_drift", "data_drift"):
            continue  # the gauges are per feature, over the whole window
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


def _write_atomic(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0o600: the mode the report has always had (it was written through mkstemp).
    with atomic_write(path, "w", encoding="utf-8", permissions=0o600) as handle:
        json.dump(document, handle, indent=2, sort_keys=True, allow_nan=False)
        handle.write("\n")
