"""The automatic rollback rules on their boundaries, with an injected clock.

A workspace where ``fraud`` v1 then v2 went to production (v2 live, history
[1, 2]) and v3 is a 10% canary; predictions and feedback are written straight
into the inference log at chosen times. Expected values are computed here by
hand from the policy's definitions, never read back from the code under test.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import make_model_dir
from riskops.config import Workspace, open_workspace
from riskops.governance import auto_rollback
from riskops.governance.auto_rollback import (
    check_budget_rules,
    check_critical_labels,
    labels_in_window,
    live_version,
)
from riskops.governance.freeze import ModelFrozen, refuse_if_frozen
from riskops.governance.incidents import incidents_for
from riskops.registry.service import Registry
from riskops.storage import db, repository
from riskops.storage.feedback import add_feedback
from riskops.storage.outbox import recent_events
from riskops.storage.predictions import insert_predictions
from riskops.storage.rule_firings import firings
from riskops.storage.tables import PointerChangeRow

MINUTE = timedelta(minutes=1)


@pytest.fixture
def live_ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    """fraud v1 -> v2 in production (history [1, 2]), v3 a 10% canary."""
    registry = Registry(workspace)
    for seed in (1, 2, 3):
        registry.register("fraud", make_model_dir(tmp_path / f"m{seed}", seed=seed),
                          actor="local:trainer")
    registry.promote("fraud", 1, actor="local:test", force=True)
    registry.promote("fraud", 2, actor="local:test", force=True)
    registry.promote("fraud", 3, actor="local:test", stage="canary", percent=10)
    return workspace


def configure(ws: Workspace, text: str) -> Workspace:
    with ws.config_path.open("a", encoding="utf-8") as f:
        f.write("\n" + text.strip() + "\n")
    return open_workspace(ws.home)


def backdate_production(ws: Workspace, to: datetime) -> None:
    """Pretend the production pointer changes happened at ``to`` (the rules count only
    evidence after the live version went live; tests replay times before now)."""
    with db.write_transaction(ws.database_url) as session:
        for change in repository.pointer_changes(session, "fraud"):
            if change.stage == "production":
                change.changed_at = to


def current_manifest(ws: Workspace) -> int:
    from sqlalchemy import func, select

    from riskops.storage.tables import ManifestRow

    with db.read_session(ws.database_url) as session:
        return int(session.scalar(select(func.max(ManifestRow.manifest_version))))


def predictions(ws: Workspace, times: list[datetime], *, version: int | None = 2,
                method: str = "ml", route: str = "production",
                manifest_version: int | None = None) -> list[str]:
    """Logged predictions, served under ``manifest_version`` (default: the current one)."""
    ids = [str(uuid.uuid4()) for _ in times]
    served_under = current_manifest(ws) if manifest_version is None else manifest_version
    insert_predictions(ws.database_url, [
        {"id": pid, "created_at": at, "tenant_id": "default", "scenario": "fraud",
         "model_name": "fraud" if method == "ml" else None,
         "model_version": version if method == "ml" else None,
         "manifest_version": served_under,
         "method": method, "route": route, "inputs": json.dumps({"amount": 10.0 + i}),
         "score": 0.9, "label": "high", "threshold": 0.5, "reasons": "[]", "latency_ms": 1.0}
        for i, (pid, at) in enumerate(zip(ids, times, strict=True))])
    return ids


def critical(ws: Workspace, prediction_id: str, at: datetime) -> None:
    assert add_feedback(ws.database_url, prediction_id=prediction_id, created_at=at,
                        actor="reviewer-1", label="legit", override=True,
                        severity="critical", comment="customer blocked") is not None


def production(ws: Workspace) -> tuple[int | None, list[int]]:
    info = Registry(ws).show_model("fraud")
    return info["stages"]["production"], info["history"]


def events(ws: Workspace, type_: str) -> list[dict]:
    with db.read_session(ws.database_url) as session:
        return [json.loads(e.envelope) for e in recent_events(session, type_)]


# --- the pure arithmetic ---------------------------------------------------------------


def test_labels_in_window_includes_both_ends() -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    window = timedelta(minutes=60)
    times = [t0, t0 + 30 * MINUTE, t0 + 60 * MINUTE]
    assert labels_in_window(times, now=t0 + 60 * MINUTE, window=window) == 3
    assert labels_in_window(times, now=t0 + 61 * MINUTE, window=window) == 2


# --- rule 1: critical labels -----------------------------------------------------------


def test_two_critical_labels_do_not_fire_three_do(live_ws: Workspace) -> None:
    t0 = datetime.now(UTC) + MINUTE
    ids = predictions(live_ws, [t0, t0, t0])
    critical(live_ws, ids[0], t0)
    critical(live_ws, ids[1], t0 + 10 * MINUTE)
    assert check_critical_labels(live_ws, "fraud", 2, now=t0 + 10 * MINUTE) is None
    assert production(live_ws) == (2, [1, 2])
    critical(live_ws, ids[2], t0 + 20 * MINUTE)
    result = check_critical_labels(live_ws, "fraud", 2, now=t0 + 20 * MINUTE)
    assert result is not None and result["status"] == "rolled-back"
    assert (result["from"], result["to"]) == (2, 1)
    assert result["numbers"]["critical_labels"] == 3
    assert production(live_ws) == (1, [1])


def test_critical_labels_repeated_on_one_prediction_count_once(live_ws: Workspace) -> None:
    t0 = datetime.now(UTC) + MINUTE
    ids = predictions(live_ws, [t0] * 2)
    for i in range(3):
        critical(live_ws, ids[0], t0 + i * MINUTE)
    critical(live_ws, ids[1], t0 + 3 * MINUTE)
    assert check_critical_labels(live_ws, "fraud", 2, now=t0 + 3 * MINUTE) is None
    assert production(live_ws)[0] == 2


def test_labels_59_minutes_apart_fire_61_do_not(live_ws: Workspace) -> None:
    t0 = datetime.now(UTC) + MINUTE
    ids = predictions(live_ws, [t0] * 3)
    critical(live_ws, ids[0], t0)
    critical(live_ws, ids[1], t0 + 30 * MINUTE)
    critical(live_ws, ids[2], t0 + 61 * MINUTE)
    assert check_critical_labels(live_ws, "fraud", 2, now=t0 + 61 * MINUTE) is None
    assert production(live_ws)[0] == 2
    late = predictions(live_ws, [t0])
    critical(live_ws, late[0], t0 + 89 * MINUTE)  # 59 minutes after the second label
    result = check_critical_labels(live_ws, "fraud", 2, now=t0 + 89 * MINUTE)
    assert result is not None and result["status"] == "rolled-back"
    assert result["numbers"]["critical_labels"] == 3
    assert result["numbers"]["first_label_at"] == (t0 + 30 * MINUTE).isoformat()


def test_labels_on_other_versions_or_not_critical_do_not_count(live_ws: Workspace) -> None:
    t0 = datetime.now(UTC) + MINUTE
    on_v1 = predictions(live_ws, [t0] * 3, version=1)
    on_v2 = predictions(live_ws, [t0] * 3)
    for pid in on_v1:
        critical(live_ws, pid, t0)
    for pid in on_v2:
        add_feedback(live_ws.database_url, prediction_id=pid, created_at=t0, actor="r",
                     label="fraud", override=False, severity="high", comment=None)
    assert check_critical_labels(live_ws, "fraud", 2, now=t0) is None
    assert check_critical_labels(live_ws, "fraud", 1, now=t0) is None  # not in production
    assert production(live_ws)[0] == 2


def test_the_rollback_records_event_audit_freeze_and_incident(live_ws: Workspace, cli) -> None:
    t0 = datetime.now(UTC) + MINUTE
    ids = predictions(live_ws, [t0] * 3)
    for i, pid in enumerate(ids):
        critical(live_ws, pid, t0 + i * MINUTE)
    result = check_critical_labels(live_ws, "fraud", 2, now=t0 + 2 * MINUTE)
    assert result["status"] == "rolled-back" and result["frozen"]
    assert result["canary_removed"] == {"version": 3, "percent": 10}
    manifest = json.loads(live_ws.manifest_path.read_bytes())
    stages = manifest["models"]["fraud"]["stages"]
    assert stages["production"] == 1 and stages["canary"] is None
    [event] = events(live_ws, "ml.model.rolled_back")[:1]
    data = event["data"]
    assert (data["fromVersion"], data["toVersion"], data["actor"]) == (
        2, 1, auto_rollback.ACTOR)
    assert data["rule"] == "critical-labels" and data["automatic"] is True
    assert data["numbers"]["critical_labels"] == 3
    assert cli("audit-log", "verify").code == 0
    with pytest.raises(ModelFrozen, match="riskops unfreeze fraud"):
        refuse_if_frozen(live_ws, "fraud", what="promoted to production")
    [incident] = incidents_for(live_ws, "fraud", 2)
    record = incident["record"]
    assert (incident["from_version"], incident["to_version"]) == (2, 1)
    assert record["versions"] == {"before": 2, "after": 1, "after_is_heuristic": False}
    assert sorted(f["prediction"]["id"] for f in record["feedback"]) == sorted(ids)
    assert all(f["prediction"]["model_version"] == 2 and f["prediction"]["inputs"]
               for f in record["feedback"])
    events_text = " ".join(e["event"] for e in record["timeline"])
    assert "rolled back v2 -> v1" in events_text and "frozen" in events_text
    with db.read_session(live_ws.database_url) as session:
        entries = {e.seq: e for e in repository.audit_entries(session)}
    assert entries[record["audit"]["seq"]].hash == record["audit"]["hash"]
    assert entries[record["audit"]["seq"]].action == "model.rolled_back"


def test_a_firing_acts_once_even_when_evaluated_at_once(live_ws: Workspace) -> None:
    t0 = datetime.now(UTC) + MINUTE
    for pid in predictions(live_ws, [t0] * 3):
        critical(live_ws, pid, t0)
    results: list[dict | None] = []

    def run() -> None:
        results.append(check_critical_labels(live_ws, "fraud", 2, now=t0 + MINUTE))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r["status"] for r in results if r is not None)
    assert statuses.count("rolled-back") == 1
    assert production(live_ws) == (1, [1])  # one step back, never two
    assert len(firings(live_ws.database_url, kind="rollback", model="fraud", limit=None)) == 1
    assert len(incidents_for(live_ws, "fraud")) == 1
    # v1 is live now: the same labels (on v2) cannot fire again.
    assert check_critical_labels(live_ws, "fraud", 1, now=t0 + 2 * MINUTE) is None


def test_without_an_earlier_version_production_falls_back_to_the_heuristic(
        workspace: Workspace, tmp_path: Path) -> None:
    registry = Registry(workspace)
    registry.register("fraud", make_model_dir(tmp_path / "m1"), actor="local:trainer")
    registry.promote("fraud", 1, actor="local:test", force=True)
    t0 = datetime.now(UTC) + MINUTE
    for pid in predictions(workspace, [t0] * 3, version=1):
        critical(workspace, pid, t0)
    result = check_critical_labels(workspace, "fraud", 1, now=t0)
    assert result["status"] == "rolled-back" and result["to"] is None
    assert production(workspace) == (None, [1])


def test_alert_only_emits_and_audits_but_moves_nothing(live_ws: Workspace, cli) -> None:
    ws = configure(live_ws, '[governance.rollback.models.fraud]\nmode = "alert-only"')
    t0 = datetime.now(UTC) + MINUTE
    for pid in predictions(ws, [t0] * 3):
        critical(ws, pid, t0)
    result = check_critical_labels(ws, "fraud", 2, now=t0)
    assert result["status"] == "alert-only" and result["would_roll_back_to"] == 1
    assert check_critical_labels(ws, "fraud", 2, now=t0)["status"] == "already-acted"
    assert production(ws) == (2, [1, 2])
    assert events(ws, "ml.model.rolled_back") == []
    [event] = events(ws, "ml.model.rollback.recommended")
    assert event["data"]["rule"] == "critical-labels" and event["data"]["version"] == 2
    refuse_if_frozen(ws, "fraud", what="promoted")  # not frozen
    assert cli("audit-log", "verify").code == 0


def test_mode_off_evaluates_nothing(live_ws: Workspace) -> None:
    ws = configure(live_ws, '[governance.rollback]\nmode = "off"')
    t0 = datetime.now(UTC) + MINUTE
    for pid in predictions(ws, [t0] * 3):
        critical(ws, pid, t0)
    assert check_critical_labels(ws, "fraud", 2, now=t0) is None
    assert check_budget_rules(ws, now=t0) == []
    assert production(ws)[0] == 2


def test_the_clock_must_be_aware(live_ws: Workspace) -> None:
    from riskops.errors import InputError

    with pytest.raises(InputError, match="aware UTC time"):
        check_budget_rules(live_ws, now=datetime(2026, 1, 1))


# --- rule 2: the error budget ----------------------------------------------------------


def _stream(ws: Workspace, start: datetime, *, total: int, failed: int) -> None:
    """``total`` model-routed requests in the minute after ``start``, ``failed`` of them
    answered by the heuristic (a model failure)."""
    step = timedelta(seconds=50) / total
    times = [start + i * step for i in range(total)]
    predictions(ws, times[:failed], method="heuristic")
    predictions(ws, times[failed:])


SLO = "[governance.slo]\navailability = 0.5\n"  # allowed failures: half the requests


@pytest.mark.parametrize(("failed", "fires"), [(951, True), (949, False)])
def test_budget_49_percent_fires_51_does_not(live_ws: Workspace, failed: int,
                                             fires: bool) -> None:
    ws = configure(live_ws, SLO)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    backdate_production(ws, t0 - timedelta(hours=1))
    _stream(ws, t0, total=2000, failed=failed)
    expected = 1 - failed / (0.5 * 2000)  # 0.049 or 0.051, against min_budget 0.05
    first = check_budget_rules(ws, now=t0 + MINUTE)
    [report] = first
    assert report["budget_remaining"] == pytest.approx(expected)
    assert (report["under_since"] is not None) is fires
    [later] = check_budget_rules(ws, now=t0 + 16 * MINUTE)
    assert (later["action"] is not None) is fires
    assert production(ws)[0] == (1 if fires else 2)


def test_failures_served_under_an_older_manifest_do_not_count(live_ws: Workspace) -> None:
    """A replica that has not loaded the manifest putting v2 live yet logs its failures
    under the older one: they are not v2's, and never roll it back."""
    ws = configure(live_ws, SLO)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    backdate_production(ws, t0 - timedelta(hours=1))
    live = live_version(ws, "fraud")
    assert live is not None and live.manifest_version is not None
    stale = live.manifest_version - 1
    step = timedelta(seconds=50) / 100
    predictions(ws, [t0 + i * step for i in range(60)], method="heuristic",
                manifest_version=stale)
    predictions(ws, [t0 + i * step for i in range(60, 100)])
    [report] = check_budget_rules(ws, now=t0 + MINUTE)
    assert (report["requests"], report["failed"]) == (40, 0)
    assert report["budget_remaining"] == 1.0 and report["under_since"] is None


def test_budget_fires_at_15_minutes_not_14_59(live_ws: Workspace) -> None:
    ws = configure(live_ws, SLO)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    backdate_production(ws, t0 - timedelta(hours=1))
    _stream(ws, t0, total=100, failed=60)  # budget 1 - 60/50 -> 0
    start = t0 + MINUTE
    [first] = check_budget_rules(ws, now=start)
    assert first["under_since"] == start.isoformat() and first["action"] is None
    [almost] = check_budget_rules(ws, now=start + timedelta(minutes=14, seconds=59))
    assert almost["action"] is None and production(ws)[0] == 2
    [due] = check_budget_rules(ws, now=start + 15 * MINUTE)
    assert due["action"]["status"] == "rolled-back"
    assert (due["action"]["from"], due["action"]["to"]) == (2, 1)
    [event] = events(ws, "ml.model.rolled_back")[:1]
    assert event["data"]["rule"] == "error-budget"
    assert event["data"]["numbers"]["minutes_under"] == pytest.approx(15.0)
    [incident] = incidents_for(ws, "fraud", 2)
    assert incident["record"]["trigger"]["numbers"]["failed"] == 60


def test_a_recovered_budget_restarts_the_15_minutes(live_ws: Workspace) -> None:
    ws = configure(live_ws, SLO)
    t0 = datetime.now(UTC) - timedelta(hours=2)
    backdate_production(ws, t0 - timedelta(hours=1))
    _stream(ws, t0, total=100, failed=60)
    assert check_budget_rules(ws, now=t0 + MINUTE)[0]["under_since"] is not None
    _stream(ws, t0 + 5 * MINUTE, total=1000, failed=0)  # 60 of 1100: budget 1 - 60/550
    recovered = check_budget_rules(ws, now=t0 + 6 * MINUTE)[0]
    assert recovered["budget_remaining"] == pytest.approx(1 - 60 / 550)
    assert recovered["under_since"] is None
    _stream(ws, t0 + 7 * MINUTE, total=1000, failed=1000)  # 1060 of 2100: 1 - 1060/1050
    assert check_budget_rules(ws, now=t0 + 8 * MINUTE)[0]["under_since"] == (
        t0 + 8 * MINUTE).isoformat()
    assert check_budget_rules(ws, now=t0 + 22 * MINUTE)[0]["action"] is None  # 14 minutes
    assert check_budget_rules(ws, now=t0 + 23 * MINUTE)[0]["action"]["status"] == "rolled-back"


def test_after_a_budget_rollback_the_rule_waits_for_new_evidence(live_ws: Workspace) -> None:
    ws = configure(live_ws, SLO)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    backdate_production(ws, t0 - timedelta(hours=1))
    _stream(ws, t0, total=100, failed=100)
    check_budget_rules(ws, now=t0 + MINUTE)
    assert check_budget_rules(ws, now=t0 + 16 * MINUTE)[0]["action"]["to"] == 1
    # The failures stay in the log, but v1 went live after them: nothing counts yet.
    now = datetime.now(UTC) + MINUTE
    for minutes in (0, 15, 30):
        [report] = check_budget_rules(ws, now=now + minutes * MINUTE)
        assert report["version"] == 1 and report["requests"] == 0
        assert report["action"] is None
    assert production(ws) == (1, [1])
    # New evidence on v1 (failures after it went live) fires the rule again.
    _stream(ws, now + 31 * MINUTE, total=10, failed=10)
    check_budget_rules(ws, now=now + 32 * MINUTE)
    [again] = check_budget_rules(ws, now=now + 47 * MINUTE)
    assert again["action"]["status"] in ("rolled-back", "already-acted")


def test_a_frozen_model_after_rollback_keeps_later_firings_once(live_ws: Workspace) -> None:
    """Two schedulers evaluating the same minute: the budget firing is claimed once."""
    ws = configure(live_ws, SLO)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    backdate_production(ws, t0 - timedelta(hours=1))
    _stream(ws, t0, total=100, failed=100)
    check_budget_rules(ws, now=t0 + MINUTE)
    results: list[list[dict]] = []
    threads = [threading.Thread(target=lambda: results.append(
        check_budget_rules(ws, now=t0 + 16 * MINUTE))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    actions = [r[0]["action"]["status"] for r in results if r and r[0]["action"]]
    assert actions.count("rolled-back") == 1
    assert production(ws) == (1, [1])
    with db.read_session(ws.database_url) as session:
        rollbacks = [c for c in repository.pointer_changes(session, "fraud")
                     if c.action == "rollback"]
    assert len(rollbacks) == 1 and isinstance(rollbacks[0], PointerChangeRow)
