"""`monitor run` over the Parquet lake: the database's results, windows pushed down."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pytest
from monitoring_helpers import (
    NOW,
    generated,
    insert_outcomes,
    insert_overrides,
    insert_predictions,
    prediction_rows,
)
from scipy import stats as scipy_stats

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.monitoring.job import run_model_monitoring
from riskops.monitoring.stats import psi
from riskops.storage.lake import export_predictions, predictions_dir, window_query

DRIFTED = ("amount", "distance_from_home_km")
META = {"now": NOW.isoformat()}


def _results(ws: Workspace, source: str, used: str | None = None,
             **meta: Any) -> list[dict[str, Any]]:
    summary = run_model_monitoring(ws, {**META, **meta, "source": source})
    assert summary["source"] == (used or ("db" if source == "db" else "lake"))
    return [{k: v for k, v in r.items() if k != "eventIds"} for r in summary["results"]]


def _close(a: Any, b: Any, where: str = "") -> None:
    """Equal, floats to 1e-9 relative (sums in another order), recursively."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _close(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), where
    else:
        assert a == b, where


def _same(lake: list[dict[str, Any]], db: list[dict[str, Any]]) -> None:
    _close(lake, db)


@pytest.fixture
def logged(workspace: Workspace) -> tuple[Workspace, list[dict[str, Any]]]:
    rows = prediction_rows(generated(drift_features=DRIFTED, tenants=2), segments=True)
    insert_predictions(workspace, rows)
    ids = [r["id"] for r in rows]
    insert_outcomes(workspace, {pid: str(i % 2) for i, pid in enumerate(ids[:1500])})
    insert_overrides(workspace, ids[1500:1520])
    return workspace, rows


def test_lake_gives_the_database_results(logged: tuple[Workspace, list[dict[str, Any]]]):
    ws, _ = logged
    export_predictions(ws, now=NOW + timedelta(days=1), lag=timedelta(0))

    lake = _results(ws, "lake", segmentMinSamples=100)
    db = _results(ws, "db", segmentMinSamples=100)

    _same(lake, db)
    drifted = {r["feature"] for r in lake if r["check"] == "data_drift" and r.get("drift")}
    assert drifted == set(DRIFTED)
    assert any(r.get("segment") and r["status"] == "checked" for r in lake)
    performance = [r for r in lake if r["check"] == "performance"]
    assert performance and all(r["status"] == "checked" for r in performance)
    _same(_results(ws, "auto", segmentMinSamples=100), lake)  # auto: the lake, once exported


def test_rows_after_the_watermark_and_later_outcomes_still_count(
    logged: tuple[Workspace, list[dict[str, Any]]],
):
    ws, rows = logged
    # Export up to three days ago: the last three days stay in the database only.
    export_predictions(ws, now=NOW - timedelta(days=3), lag=timedelta(0))
    late = [r["id"] for r in rows if r["created_at"] >= NOW - timedelta(days=7)][:40]
    insert_outcomes(ws, {pid: "1" for pid in late}, at=NOW)  # after the export
    insert_overrides(ws, late[:5])

    _same(_results(ws, "lake"), _results(ws, "db"))


def test_parts_beyond_the_watermark_are_not_counted_twice(
    logged: tuple[Workspace, list[dict[str, Any]]],
):
    ws, _ = logged
    export_predictions(ws, now=NOW - timedelta(days=3), lag=timedelta(0))
    mark = predictions_dir(ws) / "_watermark.json"
    saved = mark.read_text()
    # An export that wrote its part files, then crashed before saving its watermark.
    export_predictions(ws, now=NOW + timedelta(days=1), lag=timedelta(0))
    mark.write_text(saved)

    _same(_results(ws, "lake"), _results(ws, "db"))


def test_lake_without_an_export_reads_the_database(workspace: Workspace):
    insert_predictions(workspace, prediction_rows(generated(seed=3)))

    _same(_results(workspace, "lake"), _results(workspace, "db"))
    _same(_results(workspace, "auto", used="db"), _results(workspace, "db"))


def test_psi_over_the_lake_matches_numpy_on_the_raw_inputs(
    logged: tuple[Workspace, list[dict[str, Any]]],
):
    ws, rows = logged
    export_predictions(ws, now=NOW + timedelta(days=1), lag=timedelta(0))
    results = _results(ws, "lake")

    def amounts(days_from: float, days_to: float, tenant: str) -> list[float]:
        start, end = NOW - timedelta(days=days_from), NOW - timedelta(days=days_to)
        return [json.loads(r["inputs"])["amount"] for r in rows
                if start <= r["created_at"] < end and r["tenant_id"] == tenant]

    for result in (r for r in results if r.get("feature") == "amount"):
        ref, cur = amounts(60, 30, result["tenantId"]), amounts(7, 0, result["tenantId"])
        assert result["psi"] == pytest.approx(psi(ref, cur))
        assert result["ks_statistic"] == pytest.approx(scipy_stats.ks_2samp(ref, cur).statistic)


def _stamped(rows: list[dict[str, Any]], stamps: list[datetime]) -> list[dict[str, Any]]:
    return [{**row, "id": f"edge-{i}", "created_at": stamp}
            for i, (row, stamp) in enumerate(zip(rows, stamps, strict=False))]


def test_window_is_pushed_down_to_utc_days_and_exact_bounds(workspace: Workspace):
    start = datetime(2026, 2, 1, tzinfo=UTC)
    end = datetime(2026, 2, 3, 12, tzinfo=UTC)
    stamps = [start - timedelta(microseconds=1), start, start + timedelta(hours=23, minutes=59),
              end - timedelta(microseconds=1), end, end + timedelta(days=1)]
    rows = _stamped(prediction_rows(generated(rows=20)), stamps)
    insert_predictions(workspace, rows)
    export_predictions(workspace, now=NOW, lag=timedelta(0))
    # A partition the window must not open: reading it would fail.
    bad = predictions_dir(workspace) / "scenario=fraud" / "date=2026-02-04" / "part-bad.parquet"
    bad.write_bytes(b"not parquet")
    query = window_query(workspace, start=start, end=end)
    assert query is not None

    with duckdb.connect() as con:
        ids = sorted(r[0] for r in con.execute(f"SELECT id FROM ({query})").fetchall())
    wider = window_query(workspace, start=start, end=end + timedelta(days=2))
    with duckdb.connect() as con, pytest.raises(duckdb.Error):
        con.execute(f"SELECT id FROM ({wider})").fetchall()

    assert ids == ["edge-1", "edge-2", "edge-3"]


def test_window_ending_at_midnight_opens_no_partition_of_that_day(workspace: Workspace):
    insert_predictions(workspace, prediction_rows(generated(rows=50)))
    export_predictions(workspace, now=NOW, lag=timedelta(0))
    query = window_query(workspace, start=NOW - timedelta(days=3), end=NOW - timedelta(days=1))

    assert query is not None
    assert f"date <= DATE '{(NOW - timedelta(days=2)).date().isoformat()}'" in query
    assert window_query(workspace, start=NOW, end=NOW + timedelta(days=1)) is not None


def test_quotes_in_tenants_and_scenario_names_are_escaped(workspace: Workspace):
    rows = prediction_rows(generated(rows=400))
    hostile = [{**r, "tenant_id": "o'brien", "scenario": "it's; DROP"} for r in rows]
    insert_predictions(workspace, hostile)
    export_predictions(workspace, now=NOW, lag=timedelta(0))

    lake = _results(workspace, "lake", tenantIds=["o'brien"])
    db = _results(workspace, "db", tenantIds=["o'brien"])

    _same(lake, db)
    assert {r["tenantId"] for r in lake} == {"o'brien"}
    assert {r["scenario"] for r in lake} == {"it's; DROP"}
    # An unknown scenario: features inferred from the logged inputs, as from the database.
    assert {r["feature"] for r in lake if r["check"] == "data_drift"} >= {"amount", "channel"}


def test_malformed_inputs_count_as_missing_not_as_a_failure(workspace: Workspace):
    rows = prediction_rows(generated(rows=2000))
    for i, row in enumerate(rows):
        if i % 10 == 0:
            row["inputs"] = "not json" if i % 20 else json.dumps(["a", "list"])
        elif i % 10 == 1:
            row["inputs"] = json.dumps({**json.loads(row["inputs"]), "amount": "lots"})
    insert_predictions(workspace, rows)
    export_predictions(workspace, now=NOW, lag=timedelta(0))

    lake, db = _results(workspace, "lake"), _results(workspace, "db")

    _same(lake, db)
    amount = next(r for r in lake if r.get("feature") == "amount")
    assert amount["status"] == "checked"
    assert amount["reference_missing_share"] == pytest.approx(0.2, abs=0.03)
    channel = next(r for r in lake if r.get("feature") == "channel")
    assert channel["reference_missing_share"] == pytest.approx(0.1, abs=0.03)


def test_numeric_inputs_reach_the_checks_as_float_arrays(workspace: Workspace):
    """The numbers DuckDB extracts are the logged ones, bit for bit."""
    rows = prediction_rows(generated(rows=600, seed=7))
    insert_predictions(workspace, rows)
    from riskops.monitoring.checks import model_id
    from riskops.monitoring.inference_log import open_windows
    from riskops.monitoring.windows import MonitoringConfig

    config = MonitoringConfig.from_metadata(META)
    start, end = config.current_window
    expected = [json.loads(r["inputs"])["distance_from_home_km"] for r in rows
                if start <= r["created_at"] < end and r["tenant_id"] == "acme"]
    with open_windows(workspace, config, model_id=model_id, source="db") as (_, current, _s):
        current.prepare("fraud", {"distance_from_home_km": "numeric", "channel": "categorical"})
        group = current.select("acme", "fraud", "fraud")
        values = group.numbers("distance_from_home_km")
        counts = group.counts("channel")

    assert values.dtype == np.float64
    assert sorted(values.tolist()) == sorted(expected)
    assert sum(counts.values()) == len(expected)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--source", "spark", "--source 'spark' is not auto, db or lake"),
    ("--engine", "polars", "--engine 'polars' is not duckdb or spark; e.g. --engine spark"),
])
def test_cli_refuses_unknown_sources_and_engines(cli, workspace: Workspace, option: str,
                                                 value: str, message: str):
    result = cli("monitor", "run", "--home", workspace.home, option, value)

    assert result.code == 2
    assert message in result.err


def test_metadata_source_is_checked(workspace: Workspace):
    with pytest.raises(InputError, match="source must be one of auto, db, lake"):
        run_model_monitoring(workspace, {**META, "source": "parquet"})


def test_cli_run_over_the_lake(cli, logged: tuple[Workspace, list[dict[str, Any]]]):
    ws, _ = logged
    export_predictions(ws, now=NOW, lag=timedelta(0))

    result = cli("monitor", "run", "--home", ws.home, "--now", NOW.isoformat(),
                 "--source", "lake", "--json")

    assert result.code == 0, result.err
    summary = result.json()
    assert summary["source"] == "lake"
    assert {r["feature"] for r in summary["results"]
            if r["check"] == "data_drift" and r.get("drift")} == set(DRIFTED)
