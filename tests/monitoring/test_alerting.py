"""Alert state through the database: transitions only, once, audited, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from monitoring_helpers import outbox

from riskops.config import Workspace
from riskops.governance.audit_check import check_audit_log
from riskops.monitoring.alerting import evaluations, record_alerts
from riskops.storage import db, repository
from riskops.storage.alert_state import read_states

T0 = datetime(2026, 3, 1, tzinfo=UTC)
LIMITS = {"brier": 0.2, "mae": 0.2}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ws(request: pytest.FixtureRequest) -> Workspace:
    name = "workspace" if request.param == "sqlite" else "pg_workspace"
    return request.getfixturevalue(name)


def drift(psi: float, *, feature: str = "amount", tenant: str = "acme",
          **extra: Any) -> dict[str, Any]:
    return {"check": "data_drift", "status": "checked", "tenantId": tenant, "modelId": "fraud",
            "scenario": "fraud", "feature": feature, "psi": psi, "threshold": 0.2,
            "drift": psi > 0.2, **extra}


def week(n: int) -> datetime:
    return T0 + timedelta(days=7 * n)


def evaluate(ws: Workspace, results: list[dict[str, Any]], n: int, consecutive: int = 3
             ) -> list[str]:
    return record_alerts(ws, results, now=week(n), consecutive=consecutive, degradation=LIMITS)


def audit_actions(ws: Workspace) -> list[tuple[str, str]]:
    with db.read_session(ws.database_url) as session:
        return [(e.action, e.subject) for e in repository.audit_entries(session)
                if e.action.startswith("monitoring.")]


def test_fires_once_after_three_breaches_and_resolves_after_three_clean(ws: Workspace) -> None:
    psis = [0.3, 0.35, 0.4, 0.5, 0.05, 0.06, 0.07, 0.08]
    emitted, seen = [], []
    for n, psi in enumerate(psis):
        result = drift(psi)
        emitted.append(evaluate(ws, [result], n))
        seen.append((result["alert"], result["consecutive"]))
    assert [len(ids) for ids in emitted] == [0, 0, 1, 0, 0, 0, 1, 0]
    assert seen == [("ok", 1), ("ok", 2), ("firing", 3), ("firing", 4),
                    ("firing", 0), ("firing", 0), ("ok", 0), ("ok", 0)]
    [fired] = outbox(ws, "ml.model.drift.detected")
    [resolved] = outbox(ws, "ml.model.drift.resolved")
    assert fired["id"] == emitted[2][0] and resolved["id"] == emitted[6][0]
    assert fired["subject"] == resolved["subject"] == "fraud/acme"
    assert fired["data"] == {"modelId": "fraud", "tenantId": "acme", "scenario": "fraud",
                             "check": "data_drift", "feature": "amount", "metric": "psi",
                             "value": 0.4, "threshold": 0.2,
                             "delta": pytest.approx(0.2), "consecutive": 3}
    assert resolved["data"]["value"] == 0.07 and resolved["data"]["consecutive"] == 3
    assert resolved["data"]["delta"] == pytest.approx(-0.13)
    assert audit_actions(ws) == [("monitoring.alert.fired", "fraud/acme"),
                                 ("monitoring.alert.resolved", "fraud/acme")]
    audit = check_audit_log(ws)
    assert audit.ok and audit.anchored_seq == audit.entries  # a signed manifest anchors them
    [state] = read_states(ws.database_url)
    assert (state["firing"], state["breaches"], state["cleans"]) == (False, 0, 4)
    assert state["evaluated_at"] == week(7) and state["last_value"] == 0.08


def test_the_same_window_end_never_counts_or_emits_twice(ws: Workspace) -> None:
    for n in range(3):
        evaluate(ws, [drift(0.3)], n)
    entries = check_audit_log(ws).entries
    again = drift(0.3)
    assert evaluate(ws, [again], 2) == []  # a re-run of the last evaluation
    assert evaluate(ws, [drift(0.01)], 1) == []  # an older one
    assert (again["alert"], again["consecutive"]) == ("firing", 3)
    assert len(outbox(ws, "ml.model.drift.detected")) == 1
    assert check_audit_log(ws).entries == entries
    assert read_states(ws.database_url)[0]["breaches"] == 3


def test_each_key_has_its_own_state(workspace: Workspace) -> None:
    def run(n: int) -> list[str]:
        return evaluate(workspace, [drift(0.3), drift(0.3, tenant="beta"),
                                    drift(0.3, segment="channel=web"),
                                    drift(0.3 if n else 0.1, feature="hour_of_day")], n,
                        consecutive=2)
    assert run(0) == []
    assert len(run(1)) == 3  # hour_of_day was clean the first week
    assert len(run(2)) == 1
    events = outbox(workspace, "ml.model.drift.detected")
    assert sorted((e["data"]["tenantId"], e["data"]["feature"], e["data"].get("segment", ""))
                  for e in events) == [("acme", "amount", ""), ("acme", "amount", "channel=web"),
                                       ("acme", "hour_of_day", ""), ("beta", "amount", "")]


def test_skipped_checks_are_not_evaluations(workspace: Workspace) -> None:
    skipped = {"check": "data_drift", "status": "skipped", "tenantId": "acme",
               "modelId": "fraud", "scenario": "fraud", "feature": "amount", "reason": "few"}
    for n in range(2):
        evaluate(workspace, [drift(0.3)], n)
    evaluate(workspace, [skipped], 2)
    assert "alert" not in skipped and read_states(workspace.database_url)[0]["breaches"] == 2
    assert len(evaluate(workspace, [drift(0.3)], 3)) == 1  # the third breach in a row


def test_any_check_with_a_drift_verdict_is_evaluated_with_its_value(
        workspace: Workspace) -> None:
    skew = {"check": "training_skew", "status": "checked", "tenantId": "acme",
            "modelId": "fraud", "scenario": "fraud", "feature": "amount", "metric": "psi",
            "value": 0.5, "threshold": 0.2, "drift": True}
    [evaluation] = evaluations([skew], LIMITS)
    assert evaluation.key == ("training_skew", "acme", "fraud", "", "amount", "psi")
    [event_id] = evaluate(workspace, [skew], 0, consecutive=1)
    [event] = outbox(workspace, "ml.model.drift.detected")
    assert event["id"] == event_id and event["data"]["check"] == "training_skew"
    assert event["data"]["value"] == 0.5


def test_skew_alerts_of_two_serving_versions_are_kept_apart(workspace: Workspace) -> None:
    def skew(version: int, value: float) -> dict[str, Any]:
        return {"check": "training_skew", "status": "checked", "tenantId": "acme",
                "modelId": "fraud", "modelVersion": version, "scenario": "fraud",
                "feature": "amount", "metric": "psi", "value": value, "threshold": 0.2,
                "drift": value > 0.2}

    keys = [e.key for e in evaluations([skew(1, 0.5), skew(2, 0.01)], LIMITS)]
    assert keys == [("training_skew", "acme", "fraud@1", "", "amount", "psi"),
                    ("training_skew", "acme", "fraud@2", "", "amount", "psi")]
    # The canary (v2) is clean every run: production's (v1) alert still fires on time.
    for n in range(3):
        emitted = evaluate(workspace, [skew(1, 0.5), skew(2, 0.01)], n)
    [event] = outbox(workspace, "ml.model.drift.detected")
    assert emitted == [event["id"]] and event["data"]["modelVersion"] == 1
    assert event["subject"] == "fraud/acme"  # the model, as every monitoring event names it


def performance(brier: float, *, mode: str = "labelled", **extra: Any) -> dict[str, Any]:
    prefix = "estimated_" if mode == "estimated" else ""
    return {"check": "performance", "status": "checked", "tenantId": "acme",
            "modelId": "fraud", "scenario": "fraud", "mode": mode,
            "metrics": {"brier": brier, "mae": 0.1},
            "degraded": ([{"metric": prefix + "brier", "value": brier, "threshold": 0.2}]
                         if brier > 0.2 else []), **extra}


def test_performance_alerts_per_metric_degrade_then_recover(workspace: Workspace) -> None:
    runs = [performance(0.3), performance(0.3, mode="estimated"), performance(0.1)]
    ids = [evaluate(workspace, [r], n, consecutive=2) for n, r in enumerate(runs)]
    assert [len(i) for i in ids] == [0, 1, 0]
    assert runs[1]["alerts"] == {"brier": {"alert": "firing", "consecutive": 2},
                                 "mae": {"alert": "ok", "consecutive": 0}}
    [degraded] = outbox(workspace, "ml.model.performance.degraded")
    assert degraded["data"] == {"modelId": "fraud", "tenantId": "acme", "scenario": "fraud",
                                "metric": "estimated_brier", "value": 0.3, "threshold": 0.2,
                                "consecutive": 2}
    assert len(evaluate(workspace, [performance(0.1)], 3, consecutive=2)) == 1
    [recovered] = outbox(workspace, "ml.model.performance.recovered")
    assert recovered["data"]["metric"] == "brier" and recovered["data"]["value"] == 0.1


def test_untrusted_estimates_are_never_evaluated() -> None:
    note = "heuristic scores without reference outcomes to calibrate them"
    assert evaluations([performance(0.5, mode="estimated", note=note)], LIMITS) == []
    assert evaluations([performance(0.5, status="skipped")], LIMITS) == []
