"""Monitoring runs logged to a real local MLflow store and read back with its client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from monitoring_helpers import (
    NOW,
    generated,
    in_window,
    insert_outcomes,
    insert_predictions,
    prediction_rows,
)

import riskops
from mlflow_helpers import Tracking, needs_mlflow, template_db, tracking  # noqa: F401  (fixtures)
from riskops.config import Workspace
from riskops.monitoring.job import last_results, run_model_monitoring
from riskops.monitoring.mlflow_runs import monitoring_metrics, monitoring_tags
from riskops.tracking import NOT_INSTALLED

META = {"now": NOW.isoformat(), "consecutive": 1}
DRIFTED = ("amount", "distance_from_home_km")
# MLflow's own SQLAlchemy models use a deprecated loader option; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")


@pytest.fixture
def two_tenants(workspace: Workspace) -> Workspace:
    """acme and globex, drift on two features; globex's current window has outcomes."""
    frame = generated(rows=6000, tenants=2, drift_features=DRIFTED)
    rows = prediction_rows(frame)
    insert_predictions(workspace, rows)
    current = set(in_window(frame.assign(pid=[r["id"] for r in rows]), 7, 0)["pid"])
    insert_outcomes(workspace, {r["id"]: str(row.label) for r, row in
                                zip(rows, frame.itertuples(), strict=True)
                                if r["id"] in current and r["tenant_id"] == "globex"})
    return workspace


def _runs(tracking: Tracking, experiment: str = "riskops-fraud") -> dict[str, Any]:
    """The experiment's monitoring runs by tenant, found as docs/drift.md finds them."""
    found = tracking.client.get_experiment_by_name(experiment)
    runs = tracking.client.search_runs(
        [found.experiment_id], "tags.`riskops.kind` = 'monitoring'") if found else []
    return {run.data.tags["riskops.tenant"]: run for run in runs}


def _psi_name(result: dict[str, Any]) -> str:
    name = "prediction" if result["check"] == "prediction_drift" else result["feature"]
    return f"psi.{name}"


@needs_mlflow
def test_one_run_per_model_and_tenant_with_the_summarys_psi_and_performance(
    two_tenants: Workspace, tracking: Tracking
) -> None:
    summary = run_model_monitoring(two_tenants, META)

    runs = _runs(tracking)
    assert sorted(runs) == ["acme", "globex"]
    for tenant, run in runs.items():
        assert run.info.status == "FINISHED"
        results = [r for r in summary["results"] if r["tenantId"] == tenant]
        psi = {_psi_name(r): r["psi"] for r in results
               if r["check"] in ("data_drift", "prediction_drift") and r["status"] == "checked"}
        assert len(psi) == 10  # the score and nine fraud features
        assert {k: v for k, v in run.data.metrics.items() if k.startswith("psi.")} == psi
        assert run.data.metrics["psi.amount"] > 0.25
        [perf] = [r for r in results if r["check"] == "performance"]
        prefix = {"acme": "estimated", "globex": "performance"}[tenant]
        assert perf["mode"] == {"acme": "estimated", "globex": "labelled"}[tenant]
        for name in ("brier", "roc_auc", "f1", "positive_rate"):
            assert run.data.metrics[f"{prefix}.{name}"] == perf["metrics"][name]
        assert run.data.metrics["proxies.override_rate"] == perf["proxies"]["override_rate"]
        assert run.data.metrics["drift.detected"] == 2
    assert not any(k.startswith("estimated.") for k in runs["globex"].data.metrics)
    assert not any(k.startswith("performance.") for k in runs["acme"].data.metrics)


@needs_mlflow
def test_runs_are_tagged_with_model_version_tenant_windows_and_source(
    two_tenants: Workspace, tracking: Tracking
) -> None:
    summary = run_model_monitoring(two_tenants, META)

    run = _runs(tracking)["acme"]
    windows = summary["windows"]
    assert run.info.run_name == f"monitoring acme {windows['current']['end']}"
    assert {
        "riskops.kind": "monitoring",
        "riskops.version": riskops.__version__,
        "riskops.model": "fraud",
        "riskops.model_version": "1",
        "riskops.tenant": "acme",
        "riskops.scenario": "fraud",
        "riskops.window.reference":
            f"{windows['reference']['start']}/{windows['reference']['end']}",
        "riskops.window.current": f"{windows['current']['start']}/{windows['current']['end']}",
        "riskops.source": "db",
        "riskops.performance": "estimated",
    }.items() <= run.data.tags.items()


@needs_mlflow
def test_artifacts_are_the_groups_json_summary_and_html_report(
    two_tenants: Workspace, tracking: Tracking, tmp_path: Path
) -> None:
    summary = run_model_monitoring(two_tenants, META)

    run_id = _runs(tracking)["globex"].info.run_id
    assert {a.path for a in tracking.client.list_artifacts(run_id)} == {
        "drift-scan.json", "drift.html"}
    folder = Path(tracking.client.download_artifacts(run_id, "", str(tmp_path / "dl")))
    document = json.loads((folder / "drift-scan.json").read_text())
    assert document["results"] == [r for r in summary["results"] if r["tenantId"] == "globex"]
    assert (document["modelId"], document["tenantId"], document["modelVersions"]) == (
        "fraud", "globex", [1])
    assert document["driftDetected"] == 2 and document["performanceChecked"] == 1
    assert document["windows"] == summary["windows"]
    assert set(document["events"]) < set(summary["events"])
    html = (folder / "drift.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in html
    assert "globex" in html and "acme" not in html and "<script" not in html


@needs_mlflow
def test_summary_lists_the_runs_and_last_run_json_keeps_them(
    two_tenants: Workspace, tracking: Tracking
) -> None:
    summary = run_model_monitoring(two_tenants, META)

    runs = _runs(tracking)
    experiment_id = tracking.client.get_experiment_by_name("riskops-fraud").experiment_id
    assert summary["mlflow"] == {"status": "logged", "trackingUri": tracking.uri, "runs": [
        {"runId": runs[t].info.run_id, "experiment": "riskops-fraud",
         "experimentId": experiment_id, "modelId": "fraud", "tenantId": t}
        for t in ("acme", "globex")]}
    assert last_results(two_tenants)["mlflow"] == summary["mlflow"]


@needs_mlflow
def test_experiment_is_created_for_a_model_without_one(
    workspace: Workspace, tracking: Tracking
) -> None:
    frame = generated(rows=2000)
    insert_predictions(workspace, prediction_rows(frame, model_name=None, method="heuristic"))

    summary = run_model_monitoring(workspace, META)

    [run] = _runs(tracking, "riskops-fraud-heuristic").values()
    assert "riskops.model_version" not in run.data.tags
    assert summary["mlflow"]["runs"][0]["experiment"] == "riskops-fraud-heuristic"


def test_without_mlflow_tracking_uri_nothing_is_logged_or_imported(
    two_tenants: Workspace, tmp_path: Path
) -> None:
    code = ("import sys\n"
            "from riskops.config import open_workspace\n"
            "from riskops.monitoring.job import run_model_monitoring\n"
            f"summary = run_model_monitoring(open_workspace(), {META!r})\n"
            "print('mlflow' in summary, 'mlflow' in sys.modules, summary['driftDetected'])\n")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=tmp_path, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "4"]
    assert not (tmp_path / "mlruns").exists()


@needs_mlflow
def test_unreachable_server_is_recorded_in_one_line_and_the_run_succeeds(
    two_tenants: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://ops:s3cret@127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")

    summary = run_model_monitoring(two_tenants, META)

    assert summary["driftDetected"] == 4 and len(summary["events"]) == 4
    failure = summary["mlflow"]
    assert failure["status"] == "failed" and failure["runs"] == []
    assert failure["trackingUri"] == "http://ops:***@127.0.0.1:9"
    assert failure["error"].startswith(
        "MLflow at http://ops:***@127.0.0.1:9: opening experiment riskops-fraud failed: ")
    assert failure["error"].endswith(
        "(check MLFLOW_TRACKING_URI, or unset it to monitor without MLflow)")
    assert "\n" not in failure["error"] and "s3cret" not in json.dumps(summary)
    assert last_results(two_tenants)["mlflow"] == failure


@needs_mlflow
def test_a_failure_midway_keeps_the_runs_before_it_and_marks_its_run_failed(
    two_tenants: Workspace, tracking: Tracking, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskops.monitoring import mlflow_runs

    def report(group: dict[str, Any]) -> str:
        if group["tenantId"] == "globex":
            raise RuntimeError("report\nfailed")
        return "<!DOCTYPE html>"

    monkeypatch.setattr(mlflow_runs, "run_report_html", report)

    summary = run_model_monitoring(two_tenants, META)

    runs = _runs(tracking)
    assert (runs["acme"].info.status, runs["globex"].info.status) == ("FINISHED", "FAILED")
    failure = summary["mlflow"]
    assert [r["runId"] for r in failure["runs"]] == [runs["acme"].info.run_id]
    assert failure["error"] == f"MLflow at {tracking.uri}: RuntimeError: report failed"


def test_missing_mlflow_is_recorded_with_how_to_install(
    two_tenants: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow -> ImportError

    summary = run_model_monitoring(two_tenants, META)

    assert summary["mlflow"] == {"status": "failed", "trackingUri": "sqlite:///mlflow.db",
                                 "error": NOT_INSTALLED, "runs": []}
    assert summary["driftChecked"] == 20


@needs_mlflow
def test_cli_monitor_run_says_where_it_logged(
    cli: Any, two_tenants: Workspace, tracking: Tracking
) -> None:
    result = cli("monitor", "run", "--now", NOW.isoformat(), "--tenant", "acme")

    assert result.code == 0, result.err
    assert f"logged 1 MLflow run to {tracking.uri} (riskops-fraud)" in result.out
    assert list(_runs(tracking)) == ["acme"]


@needs_mlflow
def test_cli_monitor_run_warns_in_one_line_when_mlflow_fails(
    cli: Any, two_tenants: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")

    result = cli("monitor", "run", "--now", NOW.isoformat(), "--json")

    assert result.code == 0
    assert result.json()["mlflow"]["status"] == "failed"
    [line] = result.err.splitlines()
    assert line.startswith("warning: monitoring results are recorded, but logging them to "
                           "MLflow failed: MLflow at http://127.0.0.1:9: opening experiment")


# --- names and tags, without a store --------------------------------------------------


def test_metrics_name_segments_skew_versions_and_estimates() -> None:
    group = {"driftChecked": 3, "driftDetected": 1, "results": [
        {"check": "prediction_drift", "feature": "score", "status": "checked", "psi": 0.5},
        {"check": "prediction_drift", "feature": "score", "segment": "region=north",
         "status": "checked", "psi": 0.25},
        {"check": "data_drift", "feature": "notes:oov_rate", "status": "checked", "psi": 0.125},
        {"check": "data_drift", "feature": "amount", "status": "skipped", "reason": "few"},
        {"check": "training_skew", "feature": "score", "modelVersion": 3, "status": "checked",
         "psi": 0.0625},
        {"check": "training_skew", "feature": "amount", "modelVersion": 4, "status": "checked",
         "psi": 2.0},
        {"check": "performance", "status": "checked", "mode": "estimated",
         "metrics": {"brier": 0.75, "roc_auc": None, "undefined": {"roc_auc": "one class"}},
         "proxies": {"override_rate": 0.5, "label_mix": {"0": 1.0}}},
    ]}

    assert monitoring_metrics(group) == {
        "psi.prediction": 0.5, "psi.prediction.region.north": 0.25,
        "psi.notes_oov_rate": 0.125, "skew.v3.prediction": 0.0625, "skew.v4.amount": 2.0,
        "estimated.brier": 0.75, "proxies.override_rate": 0.5, "proxies.label_mix.0": 1.0,
        "drift.checked": 3.0, "drift.detected": 1.0,
    }


def test_tags_join_the_versions_that_served_the_window() -> None:
    group = {"modelId": "fraud", "tenantId": "acme", "modelVersions": [3, 4], "source": "lake",
             "windows": {"reference": {"start": "a", "end": "b"},
                         "current": {"start": "c", "end": "d"}},
             "results": [{"check": "performance", "status": "skipped", "scenario": "fraud"}]}

    tags = monitoring_tags(group)

    assert tags["riskops.model_version"] == "3,4"
    assert tags["riskops.window.reference"] == "a/b" and tags["riskops.window.current"] == "c/d"
    assert tags["riskops.performance"] == "skipped" and tags["riskops.source"] == "lake"


def test_segment_calibration_is_logged_per_checked_segment_value() -> None:
    group = {"results": [
        {"check": "performance", "status": "checked", "mode": "labelled",
         "metrics": {"brier": 0.15}, "proxies": {},
         "segment_calibration": {"segments": [
             {"segment": "region=emea", "column": "region", "value": "emea",
              "status": "checked", "brier": 0.25, "ece": 0.2},
             {"segment": "region=latam", "column": "region", "value": "latam",
              "status": "skipped", "rows": 12}]}},
    ]}

    assert monitoring_metrics(group) == {
        "performance.brier": 0.15, "calibration.region.emea.brier": 0.25,
        "calibration.region.emea.ece": 0.2,
    }
