"""SLOs and error budgets from the inference log: SQL against a pandas oracle on the same
rows (SQLite and PostgreSQL), the window and burn-rate boundaries, the slo-watch alerts,
``riskops slo status`` and the gauge every process exports alike."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select

from riskops.config import open_workspace
from riskops.governance.slo_status import error_budget, slo_status
from riskops.governance.slo_watch import check_burn_alerts
from riskops.monitoring.slo import budget_remaining, burn_rate
from riskops.storage import db
from riskops.storage.tables import OutboxEventRow, PredictionRow

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
MODEL_ROUTES = ("production", "canary", "pin")


def _row(at: datetime, *, scenario: str = "fraud", method: str = "ml",
         route: str = "production", latency_ms: float = 5.0) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "created_at": at, "tenant_id": "default",
            "scenario": scenario, "model_name": scenario if method == "ml" else None,
            "model_version": 1 if method == "ml" else None, "manifest_version": 1,
            "method": method, "route": route, "inputs": "{}", "score": 0.5, "label": "low",
            "threshold": 0.5, "reasons": "[]", "latency_ms": latency_ms}


def _insert(ws, rows: list[dict[str, Any]]) -> None:
    with db.get_engine(ws.database_url).begin() as conn:
        conn.execute(insert(PredictionRow), rows)


def _configure(ws, text: str):
    with ws.config_path.open("a", encoding="utf-8") as f:
        f.write("\n" + text + "\n")
    return open_workspace(ws.home)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_ws(request: pytest.FixtureRequest):
    return request.getfixturevalue("workspace" if request.param == "sqlite" else "pg_workspace")


# --- pure maths, by hand -----------------------------------------------------------------


@pytest.mark.parametrize(("bad", "total", "objective", "expected"), [
    (0, 0, 0.99, 1.0), (0, 1000, 0.99, 1.0), (5, 1000, 0.99, 0.5), (10, 1000, 0.99, 0.0),
    (50, 1000, 0.99, 0.0), (1, 200, 0.99, 0.5), (1, 1000, 0.999, 0.0), (95, 10_000, 0.99, 0.05),
])
def test_budget_remaining_by_hand(bad, total, objective, expected):
    assert budget_remaining(bad, total, objective) == pytest.approx(expected)


@pytest.mark.parametrize(("bad", "total", "objective", "expected"), [
    (0, 0, 0.99, 0.0), (10, 1000, 0.99, 1.0), (144, 1000, 0.99, 14.4), (6, 100, 0.99, 6.0),
    (1, 1, 0.999, 1000.0),
])
def test_burn_rate_by_hand(bad, total, objective, expected):
    assert burn_rate(bad, total, objective) == pytest.approx(expected)


@pytest.mark.parametrize(("bad", "total", "objective"), [
    (2, 1, 0.99), (-1, 5, 0.99), (0, 5, 1.0), (0, 5, 0.0)])
def test_impossible_counts_are_refused(bad, total, objective):
    with pytest.raises(ValueError):
        budget_remaining(bad, total, objective)


# --- SQL against a pandas oracle -----------------------------------------------------------


def _random_log(seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(3000):
        at = NOW - timedelta(seconds=float(rng.uniform(0, 40 * 86400)))
        route = str(rng.choice(["production", "canary", "pin", "no-model", "disabled",
                                "pin-heuristic"], p=[0.6, 0.1, 0.1, 0.1, 0.05, 0.05]))
        method = "heuristic" if route not in MODEL_ROUTES or rng.random() < 0.02 else "ml"
        rows.append(_row(at, scenario=str(rng.choice(["fraud", "deal", "incident"])),
                         method=method, route=route,
                         latency_ms=float(rng.choice([3.0, 80.0, 120.0, 400.0]))))
    # Rows on the window edges: exactly 30 days old is outside, exactly now inside.
    rows += [_row(NOW - timedelta(days=30), method="heuristic"), _row(NOW, method="heuristic")]
    return rows


def _oracle(rows: list[dict[str, Any]], scenario: str, start: datetime, latency_ms: float,
            objective_a: float, objective_l: float) -> tuple[float, float, int]:
    frame = pd.DataFrame(rows)
    frame = frame[(frame.scenario == scenario) & frame.route.isin(MODEL_ROUTES)
                  & (frame.created_at > start) & (frame.created_at <= NOW)]
    total = len(frame)
    failed = int((frame.method != "ml").sum())
    slow = int((frame.latency_ms > latency_ms).sum())
    availability = max(0.0, min(1.0, 1 - failed / ((1 - objective_a) * total))) if total else 1.0
    latency = max(0.0, min(1.0, 1 - slow / ((1 - objective_l) * total))) if total else 1.0
    return availability, latency, total


def test_status_matches_an_independent_count_of_the_same_rows(any_ws):
    ws = _configure(any_ws, "[governance.slo]\navailability = 0.95\nlatency = 0.9\n"
                            "latency_ms = 100.0\n[governance.slo.scenarios.deal]\n"
                            "latency_ms = 300.0\navailability = 0.99")
    rows = _random_log(7)
    _insert(ws, rows)
    status = {s.scenario: s for s in slo_status(ws, now=NOW)}
    assert set(status) == {"fraud", "deal", "incident"}
    for name, (objective_a, latency_ms) in {"fraud": (0.95, 100.0), "deal": (0.99, 300.0),
                                            "incident": (0.95, 100.0)}.items():
        availability, latency, total = _oracle(rows, name, NOW - timedelta(days=30),
                                               latency_ms, objective_a, 0.9)
        got = status[name]
        assert got.requests == total > 0
        assert got.objectives["availability"].budget_remaining == pytest.approx(availability)
        assert got.objectives["latency"].budget_remaining == pytest.approx(latency)
        assert got.budget_remaining == pytest.approx(min(availability, latency))
        for window, span in {"5m": timedelta(minutes=5), "1h": timedelta(hours=1),
                             "6h": timedelta(hours=6)}.items():
            frame = pd.DataFrame(rows)
            frame = frame[(frame.scenario == name) & frame.route.isin(MODEL_ROUTES)
                          & (frame.created_at > NOW - span) & (frame.created_at <= NOW)]
            expected = (0.0 if frame.empty else
                        float((frame.method != "ml").mean()) / (1 - objective_a))
            assert got.objectives["availability"].burn_rates[window] == pytest.approx(expected)


def test_requests_not_routed_to_a_model_spend_no_budget(workspace):
    _insert(workspace, [_row(NOW - timedelta(hours=1), route=r, method="heuristic")
                        for r in ("no-model", "disabled", "pin-heuristic") for _ in range(10)])
    assert slo_status(workspace, now=NOW) == []
    [fraud] = slo_status(workspace, now=NOW, scenarios=["fraud"])
    assert fraud.requests == 0 and fraud.budget_remaining == 1.0


@pytest.mark.parametrize(("failures", "expected"), [(4, 0.6), (10, 0.0)])
def test_error_budget_of_a_window_for_the_rules(workspace, failures, expected):
    since = NOW - timedelta(days=7)
    rows = [_row(NOW - timedelta(days=6), method="heuristic") for _ in range(failures)]
    rows += [_row(NOW - timedelta(days=6)) for _ in range(1000 - failures)]
    rows += [_row(since - timedelta(seconds=1), method="heuristic") for _ in range(50)]
    _insert(workspace, rows)
    remaining, counts = error_budget(workspace, "fraud", since=since, until=NOW)
    assert (counts.total, counts.failed) == (1000, failures)
    assert remaining == pytest.approx(expected)


# --- burn-rate alerts ----------------------------------------------------------------------


def _burn(ws, *, at: datetime, bad: int, total: int, minutes: int) -> None:
    """``total`` requests spread over the ``minutes`` before ``at``, ``bad`` of them failed."""
    step = timedelta(minutes=minutes) / total
    _insert(ws, [_row(at - step * i, method="heuristic" if i < bad else "ml")
                 for i in range(total)])


def _events(ws, kind: str) -> list[dict[str, Any]]:
    with db.read_session(ws.database_url) as session:
        rows = session.scalars(select(OutboxEventRow).where(OutboxEventRow.type == kind)).all()
        return [json.loads(r.envelope)["data"] for r in rows]


def test_fast_burn_fires_at_14_4_in_both_windows_and_not_below(workspace):
    # 1 h window: 1000 requests, 144 failed = 14.4x of a 1% budget. The failures are the
    # newest requests, so the 5 min window burns faster still.
    _burn(workspace, at=NOW, bad=144, total=1000, minutes=59)
    [fraud] = slo_status(workspace, now=NOW)
    availability = fraud.objectives["availability"]
    assert availability.burn_rates["1h"] == pytest.approx(14.4)
    assert availability.burn_rates["5m"] >= 14.4
    assert "fast" in availability.alerts
    later = NOW + timedelta(minutes=1, seconds=30)  # the oldest failure leaves the hour
    [fraud] = slo_status(workspace, now=later + timedelta(minutes=59))
    assert fraud.objectives["availability"].alerts == ()


def test_fast_burn_needs_the_short_window_too(workspace):
    # The hour burned at 14.4x, but the failures are all older than 5 minutes: the burn
    # stopped, so no page.
    step = timedelta(minutes=55) / 1000
    _insert(workspace, [_row(NOW - timedelta(minutes=59) + step * i,
                             method="heuristic" if i < 144 else "ml") for i in range(1000)])
    [fraud] = slo_status(workspace, now=NOW)
    availability = fraud.objectives["availability"]
    assert availability.burn_rates["1h"] == pytest.approx(14.4)
    assert availability.burn_rates["5m"] == 0.0
    assert "fast" not in availability.alerts


def test_just_under_the_fast_rate_does_not_fire(workspace):
    _burn(workspace, at=NOW, bad=143, total=1000, minutes=59)
    [fraud] = slo_status(workspace, now=NOW)
    assert fraud.objectives["availability"].burn_rates["1h"] == pytest.approx(14.3)
    assert "fast" not in fraud.objectives["availability"].alerts


def test_slo_watch_emits_once_per_episode_then_resolves(workspace):
    _burn(workspace, at=NOW, bad=144, total=1000, minutes=59)
    first = check_burn_alerts(workspace, now=NOW)
    assert [(c["type"], c["alert"], c["objective"]) for c in first] == [
        ("ml.slo.burn_rate.alert", "fast", "availability"),
        ("ml.slo.burn_rate.alert", "slow", "availability")]
    assert check_burn_alerts(workspace, now=NOW + timedelta(seconds=30)) == []
    assert len(_events(workspace, "ml.slo.burn_rate.alert")) == 2
    calm = check_burn_alerts(workspace, now=NOW + timedelta(hours=7))
    assert {(c["type"], c["alert"]) for c in calm} == {
        ("ml.slo.burn_rate.resolved", "fast"), ("ml.slo.burn_rate.resolved", "slow")}
    [alert] = [e for e in _events(workspace, "ml.slo.burn_rate.alert") if e["alert"] == "fast"]
    assert alert["scenario"] == "fraud" and alert["threshold"] == 14.4
    assert alert["burnRate"] == pytest.approx(14.4)


def test_slow_latency_burns_the_latency_budget_only(workspace):
    _insert(workspace, [_row(NOW - timedelta(minutes=i % 50), latency_ms=900.0 if i < 100
                             else 5.0) for i in range(1000)])
    [fraud] = slo_status(workspace, now=NOW)
    assert fraud.objectives["availability"].budget_remaining == 1.0
    assert fraud.objectives["latency"].bad == 100
    assert fraud.objectives["latency"].budget_remaining == 0.0
    assert fraud.budget_remaining == 0.0


# --- the command line ----------------------------------------------------------------------


def test_slo_status_json_is_the_status(workspace, cli):
    _burn(workspace, at=NOW, bad=5, total=1000, minutes=600)
    result = cli("slo", "status", "--now", NOW.isoformat(), "--json")
    assert result.code == 0, result.err
    [fraud] = result.json()["scenarios"]
    assert fraud["scenario"] == "fraud" and fraud["requests"] == 1000
    assert fraud["objectives"]["availability"]["budget_remaining"] == pytest.approx(0.5)
    assert fraud["objectives"]["availability"]["sli"] == pytest.approx(0.995)
    table = cli("slo", "status", "--now", NOW.isoformat())
    assert table.code == 0 and "fraud" in table.out and "50.0%" in table.out


@pytest.mark.parametrize("args", [["--now", "yesterday"], ["--now", "2026-13-01"]])
def test_slo_status_bad_input_is_one_line_exit_2(workspace, cli, args):
    result = cli("slo", "status", *args)
    assert result.code == 2 and "--now" in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1


def test_slo_config_errors_name_the_key(workspace, cli):
    _configure(workspace, "[governance.slo]\navailability = 1.5")
    result = cli("slo", "status")
    assert result.code == 2
    assert "governance.slo.availability must be a number between 0.5 and 0.99999" \
        in result.err
