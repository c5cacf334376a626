"""`monitor run --engine spark`: the DuckDB engine's results from Spark SQL over the lake.

One Spark session (local mode) for the module: a JVM start takes seconds.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from monitoring_helpers import (
    NOW,
    generated,
    insert_outcomes,
    insert_overrides,
    insert_predictions,
    prediction_rows,
)

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.monitoring.job import run_model_monitoring
from riskops.monitoring.spark_session import java_missing
from riskops.storage.lake import export_predictions

DRIFTED = ("amount", "distance_from_home_km")
META = {"now": NOW.isoformat(), "segmentMinSamples": 100}


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'riskops[spark]')"
    return java_missing()


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """A local Spark session for the module; skips (fails under CI) without pyspark or Java."""
    reason = _spark_missing()
    if reason is not None:
        message = f"Spark local mode is not available: {reason}"
        if os.environ.get("CI"):
            pytest.fail(message)
        print(f"SKIP: {message}")
        pytest.skip(message)
    from riskops.monitoring.spark_session import spark_session

    with spark_session("local[2]") as session:
        yield session


def _results(ws: Workspace, engine: str, **meta: Any) -> list[dict[str, Any]]:
    summary = run_model_monitoring(ws, {**META, **meta, "source": "lake", "engine": engine})
    assert summary["source"] == "lake"
    assert summary["engine"] == engine
    return [{k: v for k, v in r.items() if k != "eventIds"} for r in summary["results"]]


def _close(a: Any, b: Any, where: str = "") -> None:
    """Equal; floats to 1e-9 (sums taken in another order), recursively."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _close(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), f"{where}: {a} != {b}"
    else:
        assert a == b, where


def _same_engines(ws: Workspace, **meta: Any) -> list[dict[str, Any]]:
    duck = _results(ws, "duckdb", **meta)
    spark = _results(ws, "spark", **meta)
    _close(spark, duck)
    return spark


@pytest.fixture
def lake(workspace: Workspace, spark: Any) -> Workspace:
    """Two tenants of fraud predictions with drift on two features and segments; outcomes
    on every third row before the current window; exported up to two days before NOW,
    so the last rows are only in the database (the lake plus its tail, as both engines
    read it); overrides recorded after the export."""
    rows = prediction_rows(generated(drift_features=DRIFTED, tenants=2), segments=True)
    insert_predictions(workspace, rows)
    insert_outcomes(workspace, {r["id"]: str(i % 2) for i, r in enumerate(rows[::3])
                                if r["created_at"] < NOW - timedelta(days=7)})
    export_predictions(workspace, now=NOW - timedelta(days=2), lag=timedelta(0))
    insert_overrides(workspace, [r["id"] for r in rows[-60::3]])
    return workspace


def test_spark_gives_the_duckdb_results_with_outcomes_measured(lake: Workspace):
    current = [r for r in prediction_rows(generated(drift_features=DRIFTED, tenants=2),
                                          segments=True)
               if r["created_at"] >= NOW - timedelta(days=7)]
    # Outcomes of exported rows recorded after the export: the database's win.
    insert_outcomes(lake, {r["id"]: str(i % 2) for i, r in enumerate(current[::2])})

    results = _same_engines(lake)

    tenants = {r["tenantId"] for r in results}
    assert len(tenants) == 2
    drifted = {r["feature"] for r in results if r["check"] == "data_drift" and r.get("drift")}
    assert drifted == set(DRIFTED)
    assert any(r["check"] == "prediction_drift" and r.get("segment")
               and r["status"] == "checked" for r in results)
    kinds = {r.get("kind") for r in results if r["check"] == "data_drift"}
    assert {"numeric", "categorical"} <= kinds
    performance = [r for r in results if r["check"] == "performance"]
    assert {r["mode"] for r in performance} == {"labelled"}
    assert all(r["segment_calibration"]["segments"] for r in performance)
    assert any(r["proxies"]["override_rate"] > 0 for r in performance)


def test_spark_gives_the_duckdb_results_with_outcomes_estimated(lake: Workspace):
    results = _same_engines(lake)

    performance = [r for r in results if r["check"] == "performance"]
    assert {r["mode"] for r in performance} == {"estimated"}
    assert all(r["calibration"].startswith("isotonic") for r in performance)


def _edge_rows() -> list[dict[str, Any]]:
    """Fraud rows whose inputs hold a constant column, nulls, non-numbers and, in the
    current window only, categories the reference never had."""
    rows = prediction_rows(generated(rows=1500, seed=3), segments=True)
    for i, row in enumerate(rows):
        inputs = json.loads(row["inputs"])
        inputs["failed_auth_7d"] = 2  # constant
        if i % 7 == 0:
            inputs["amount"] = None
        if i % 11 == 0:
            inputs["distance_from_home_km"] = "far"  # not a number: missing
        if i % 13 == 0:
            inputs["account_age_days"] = "12"  # a number as text
        if row["created_at"] >= NOW - timedelta(days=7):
            if i % 5 == 0:
                inputs["channel"] = "kiosk"  # unseen in the reference
            if i % 9 == 0:
                inputs["new_device"] = None
        row["inputs"] = json.dumps(inputs)
    return rows


def test_spark_matches_duckdb_on_edge_cases(workspace: Workspace, spark: Any):
    insert_predictions(workspace, _edge_rows())
    export_predictions(workspace, now=NOW + timedelta(days=1), lag=timedelta(0))

    results = _same_engines(workspace)

    by_feature = {r["feature"]: r for r in results if r["check"] == "data_drift"}
    assert by_feature["amount"]["reference_missing_share"] > 0.1
    assert by_feature["failed_auth_7d"]["status"] == "checked"
    assert "kiosk" in by_feature["channel"]["shares"]


def test_spark_matches_duckdb_on_an_empty_current_window(workspace: Workspace, spark: Any):
    rows = [r for r in prediction_rows(generated(rows=800, seed=5))
            if r["created_at"] < NOW - timedelta(days=30)]
    insert_predictions(workspace, rows)
    export_predictions(workspace, now=NOW, lag=timedelta(0))

    results = _same_engines(workspace)

    assert results and {r["status"] for r in results} == {"skipped"}


def test_spark_needs_an_exported_lake(workspace: Workspace, spark: Any):
    insert_predictions(workspace, prediction_rows(generated(rows=50)))

    with pytest.raises(InputError, match=r"--engine spark reads the Parquet lake, and .* has "
                                         "not been exported to; run 'riskops jobs run "
                                         "lake-export' first"):
        run_model_monitoring(workspace, {**META, "source": "lake", "engine": "spark"})


def test_engine_spark_with_source_db_is_refused_in_metadata():
    with pytest.raises(InputError, match='engine spark reads the Parquet lake only, and '
                                         'source is db; set "source": "lake"'):
        run_model_monitoring(Workspace(home=Path("/nonexistent")),
                             {"source": "db", "engine": "spark"})


# --- the command line ---------------------------------------------------------------


def test_cli_runs_spark_over_the_lake(lake: Workspace, cli: Any):
    result = cli("monitor", "run", "--engine", "spark", "--source", "lake",
                 "--now", NOW.isoformat(), "--home", lake.home, "--json")

    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert (summary["engine"], summary["source"]) == ("spark", "lake")
    assert summary["driftDetected"] >= 2


def test_cli_refuses_spark_over_the_database(workspace: Workspace, cli: Any):
    result = cli("monitor", "run", "--engine", "spark", "--source", "db",
                 "--home", workspace.home)

    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "error: --engine spark reads the Parquet lake only, and --source db asks for the "
        "database; use --source lake (after 'riskops jobs run lake-export') or "
        "--engine duckdb."]


def test_cli_names_the_extra_when_pyspark_is_missing(workspace: Workspace, cli: Any,
                                                      monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError

    result = cli("monitor", "run", "--engine", "spark", "--home", workspace.home)

    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "error: --engine spark needs pyspark, which is not installed; "
        "run pip install 'riskops[spark]' or use --engine duckdb."]


def test_cli_names_the_fix_when_java_is_missing(workspace: Workspace, cli: Any,
                                                monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(workspace.home))  # no java there

    result = cli("monitor", "run", "--engine", "spark", "--home", workspace.home)

    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: --engine spark needs a Java runtime (17 or newer): "
                               "no java on PATH and JAVA_HOME is unset; install one")


def test_spark_master_from_config_and_environment(workspace: Workspace,
                                                  monkeypatch: pytest.MonkeyPatch):
    from riskops.config import open_workspace

    assert workspace.spark_master == "local[2]"
    with workspace.config_path.open("a", encoding="utf-8") as handle:
        handle.write('\n[monitoring]\nspark_master = "spark://head:7077"\n')
    assert open_workspace(workspace.home).spark_master == "spark://head:7077"
    monkeypatch.setenv("RISKOPS_SPARK_MASTER", "local[4]")
    assert open_workspace(workspace.home).spark_master == "local[4]"


def test_spark_master_must_be_a_string(workspace: Workspace):
    from riskops.config import open_workspace

    with workspace.config_path.open("a", encoding="utf-8") as handle:
        handle.write("\n[monitoring]\nspark_master = 7077\n")
    with pytest.raises(InputError, match=r"monitoring\.spark_master must be a non-empty string, "
                                         "got 7077"):
        open_workspace(workspace.home)
