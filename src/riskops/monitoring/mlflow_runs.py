"""A monitoring run recorded in MLflow: one MLflow run per (model, tenant) it checked.

Used only when ``MLFLOW_TRACKING_URI`` is set (``job.run_model_monitoring``
checks); ``mlflow`` is imported inside ``log_monitoring_runs``.

    for run in log_monitoring_runs(groups):   # each group: one (model, tenant) summary
        run   # {"runId", "experiment", "experimentId", "modelId", "tenantId"}

Each run goes to experiment ``riskops-<model>``, the one training logs to,
named ``monitoring <tenant> <current window end>``, with

- metrics (``monitoring_metrics``), stamped with the window's end so
  backfilled runs plot at the time they evaluate: ``psi.<feature>`` (data
  drift), ``psi.prediction`` (the score) and ``psi.prediction.<column>.<value>``
  (the score within a segment), ``skew.v<N>.<feature>`` and
  ``skew.v<N>.prediction`` (against version N's training profile),
  ``performance.<metric>`` (measured on outcome labels) or
  ``estimated.<metric>`` (CBPE), ``calibration.<column>.<value>.brier`` and
  ``.ece`` (per segment value, with outcomes), ``proxies.<name>``, and ``drift.checked``,
  ``drift.detected``; names MLflow refuses are cleaned (``riskops.tracking``);
- tags (``monitoring_tags``): ``riskops.kind=monitoring``, ``riskops.model``,
  ``riskops.model_version`` (the versions that served the current window,
  comma-joined), ``riskops.tenant``, ``riskops.scenario``,
  ``riskops.window.reference`` and ``riskops.window.current`` (ISO
  ``start/end``), ``riskops.source`` (db or lake), ``riskops.performance``
  and ``riskops.version`` (riskops', as on training runs);
- artifacts: the group's summary as ``drift-scan.json`` and its HTML report
  as ``drift.html``, what ``monitor run --json-out`` and ``--report`` write.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import riskops
from riskops.monitoring.report import run_report_html
from riskops.tracking import flatten, metric_dict, tracking_store

JSON_ARTIFACT = "drift-scan.json"
HTML_ARTIFACT = "drift.html"


def log_monitoring_runs(groups: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, str]]:
    """Log one MLflow run per group; yield each as soon as it is logged.

    Parameters
    ----------
    groups : iterable of dict
        A monitoring summary narrowed to one (model, tenant): the run's keys
        (``now``, ``windows``, ``source``, ...) plus ``modelId``,
        ``tenantId``, ``modelVersions`` and the group's ``results``.

    Yields
    ------
    dict
        ``runId``, ``experiment``, ``experimentId``, ``modelId``, ``tenantId``.

    Raises
    ------
    InputError
        If mlflow is not installed or the store fails (one line naming the
        URI and the step); the runs yielded before stay logged.
    """
    with tracking_store(without="monitor") as store:
        for group in groups:
            model, tenant = str(group["modelId"]), str(group["tenantId"])
            experiment = f"riskops-{model}"
            store.step = f"opening experiment {experiment}"
            experiment_id = store.experiment_id(experiment)
            store.step = f"starting the monitoring run of {model} for tenant {tenant}"
            with store.run(experiment_id, tags=monitoring_tags(group),
                           run_name=f"monitoring {tenant} {_window(group, 'current', 'end')}"
                           ) as run:
                run_id = run.info.run_id
                store.step = f"logging the metrics of {model} for tenant {tenant}"
                store.log(run_id, {}, monitoring_metrics(group),
                          timestamp_ms=_milliseconds(group.get("now")))
                store.step = f"logging the reports of {model} for tenant {tenant}"
                store.client.log_text(run_id, json.dumps(group, indent=2, sort_keys=True,
                                                         allow_nan=False) + "\n", JSON_ARTIFACT)
                store.client.log_text(run_id, run_report_html(group), HTML_ARTIFACT)
            yield {"runId": run_id, "experiment": experiment, "experimentId": experiment_id,
                   "modelId": model, "tenantId": tenant}


def monitoring_metrics(group: Mapping[str, Any]) -> dict[str, float]:
    """The MLflow metrics of one (model, tenant): checked results only, finite values only.

    >>> monitoring_metrics({"results": [
    ...     {"check": "prediction_drift", "feature": "score", "status": "checked", "psi": 0.3},
    ...     {"check": "data_drift", "feature": "amount", "status": "checked", "psi": 0.1},
    ...     {"check": "data_drift", "feature": "text", "status": "skipped"}]})
    {'psi.prediction': 0.3, 'psi.amount': 0.1}
    """
    return metric_dict(_metric_items(group))


def _metric_items(group: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for result in group.get("results") or ():
        if result.get("status") != "checked":
            continue
        check = result.get("check")
        if check == "performance":
            prefix = "performance" if result.get("mode") == "labelled" else "estimated"
            for name, value in flatten(result.get("metrics") or {}):
                yield f"{prefix}.{name}", value
            for name, value in flatten(result.get("proxies") or {}):
                yield f"proxies.{name}", value
            calibration = result.get("segment_calibration") or {}
            for entry in calibration.get("segments") or ():
                if entry.get("status") == "checked":
                    for metric in ("brier", "ece"):
                        yield (f"calibration.{entry['column']}.{entry['value']}.{metric}",
                               entry.get(metric))
            continue
        if check not in ("prediction_drift", "data_drift", "training_skew"):
            continue
        feature = str(result.get("feature"))
        if check == "prediction_drift" or (check == "training_skew" and feature == "score"):
            feature = "prediction"
        if result.get("segment"):
            column, _, value = str(result["segment"]).partition("=")
            feature = f"{feature}.{column}.{value}"
        prefix = f"skew.v{result.get('modelVersion')}" if check == "training_skew" else "psi"
        yield f"{prefix}.{feature}", result.get("psi")
    for key, name in (("driftChecked", "drift.checked"), ("driftDetected", "drift.detected")):
        if key in group:
            yield name, group[key]


def monitoring_tags(group: Mapping[str, Any]) -> dict[str, str]:
    """The ``riskops.*`` tags of one (model, tenant)'s run; a version tag only when a
    registered version served the current window (not for heuristic scores)."""
    results = list(group.get("results") or ())
    performance = next((r for r in results if r.get("check") == "performance"), {})
    tags = {
        "riskops.kind": "monitoring",
        "riskops.version": riskops.__version__,
        "riskops.model": str(group.get("modelId")),
        "riskops.tenant": str(group.get("tenantId")),
        "riskops.scenario": str(results[0].get("scenario")) if results else "",
        "riskops.window.reference": _interval(group, "reference"),
        "riskops.window.current": _interval(group, "current"),
        "riskops.source": str(group.get("source")),
        "riskops.performance": str(performance.get("mode") or performance.get("status")
                                   or "none"),
    }
    versions = group.get("modelVersions") or []
    if versions:
        tags["riskops.model_version"] = ",".join(str(v) for v in versions)
    return tags


def _window(group: Mapping[str, Any], name: str, end: str) -> str:
    return str(((group.get("windows") or {}).get(name) or {}).get(end, ""))


def _interval(group: Mapping[str, Any], name: str) -> str:
    """An ISO 8601 interval, ``start/end``."""
    return f"{_window(group, name, 'start')}/{_window(group, name, 'end')}"


def _milliseconds(iso: Any) -> int | None:
    try:
        return int(datetime.fromisoformat(str(iso)).timestamp() * 1000)
    except ValueError:
        return None
