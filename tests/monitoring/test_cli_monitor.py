"""`riskops monitor run` on a workspace with an inference log."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from monitoring_helpers import NOW, generated, insert_predictions, prediction_rows

from riskops.config import Workspace


def test_monitor_run_json(cli, workspace: Workspace, tmp_path: Path):
    insert_predictions(workspace, prediction_rows(
        generated(drift_features=("amount", "distance_from_home_km"))))
    out = tmp_path / "drift-scan.json"

    result = cli("monitor", "run", "--now", NOW.isoformat(), "--tenant", "acme",
                 "--consecutive", "1", "--json-out", out, "--json")

    assert result.code == 0, result.err
    summary = result.json()
    assert summary["driftChecked"] == 10 and len(summary["events"]) == 2
    assert json.loads(out.read_text())["events"] == summary["events"]


def test_monitor_run_prints_a_table(cli, workspace: Workspace):
    insert_predictions(workspace, prediction_rows(generated(rows=2000)))

    result = cli("monitor", "run", "--now", NOW.isoformat())

    assert result.code == 0, result.err
    assert "model monitoring" in result.out
    assert "data_drift" in result.out and "amount" in result.out
    assert "10 drift checks (0 over threshold), 1 performance check, 0 events" in result.out


def test_monitor_run_bad_now_exits_2_in_one_line(cli, workspace: Workspace):
    result = cli("monitor", "run", "--now", "soon")

    assert result.code == 2
    assert result.err == ("error: --now 'soon' is not an ISO 8601 time; use e.g. 2026-03-01 or "
                          "2026-03-01T12:00:00Z.\n")


def test_monitor_run_empty_tenant_exits_2(cli, workspace: Workspace):
    result = cli("monitor", "run", "--tenant", " ")

    assert result.code == 2
    assert result.err.startswith("error: --tenant needs a non-empty tenant id")


def test_monitor_run_table_shows_breaches_then_the_firing_alert(cli, workspace: Workspace,
                                                                 monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # verdicts on one line
    insert_predictions(workspace, prediction_rows(
        generated(drift_features=("amount", "distance_from_home_km"))))
    earlier = (NOW - timedelta(hours=1)).isoformat()

    first = cli("monitor", "run", "--now", earlier, "--consecutive", "2")
    second = cli("monitor", "run", "--now", NOW.isoformat(), "--consecutive", "2")
    again = cli("monitor", "run", "--now", NOW.isoformat(), "--consecutive", "2")

    assert first.code == second.code == again.code == 0, first.err + second.err
    assert "alert; breach 1 of 2" in first.out and ", 0 events" in first.out
    assert "alert; alert firing (2 breaches in a row) (event)" in second.out
    assert ", 2 events" in second.out
    assert ", 0 events" in again.out and "(event)" not in again.out


def test_monitor_run_consecutive_out_of_range_exits_2(cli, workspace: Workspace):
    result = cli("monitor", "run", "--consecutive", "0")

    assert result.code == 2
    assert result.err == ("error: --consecutive must be from 1 to 100, got 0; e.g. "
                          "--consecutive 3 fires an alert on the third breach in a row.\n")
