"""Done when: imported history with drift from a known date, evaluated week by week with
`monitor run --now`, breaches after the drift date, alerts fire once, a re-run emits
nothing, and the alerts resolve once the reference window has caught up with the drift."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from monitoring_helpers import outbox
from scipy.special import expit

from riskops.config import Workspace
from riskops.governance.audit_check import check_audit_log
from riskops.monitoring.job import run_model_monitoring

START = datetime(2026, 1, 1, tzinfo=UTC)
DRIFT_FROM = datetime(2026, 3, 15, tzinfo=UTC)  # day 73
DAYS = 200
DRIFTED = {"amount", "distance_from_home_km"}  # fraud's documented covariate-drift pair


def test_import_then_weekly_runs_alert_once_and_resolve(
        workspace: Workspace, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "history.csv"
    made = cli("data", "generate", "fraud", "--rows", "16000", "--start", "2026-01-01",
               "--days", str(DAYS), "--drift-from", "2026-03-15", "--drift", "covariate",
               "--tenants", "1", "--seed", "5", "--out", data)
    assert made.code == 0, made.err
    frame = pd.read_csv(data)
    logit = 0.8 * (np.log1p(frame["amount"]) - 5) + 0.002 * frame["distance_from_home_km"] - 1
    frame.assign(score=expit(logit)).to_csv(data, index=False)

    imported = cli("monitor", "import", "--from", data, "--scenario", "fraud",
                   "--timestamp-col", "timestamp", "--score-col", "score", "--label-col",
                   "label", "--tenant-col", "tenant_id", "--id-col", "id", "--json")
    assert imported.code == 0, imported.err
    assert imported.json()["added"] == 16000

    # Weekly evaluations from day 63 (a full reference window) to day 196.
    weeks = [START + timedelta(days=63 + 7 * k) for k in range(20)]
    runs = {}
    for now in weeks:
        summary = run_model_monitoring(workspace, {"now": now.isoformat()})
        runs[now] = summary
        if now == weeks[8]:  # the same evaluation again: nothing counts, nothing is emitted
            again = run_model_monitoring(workspace, {"now": now.isoformat()})
            assert again["events"] == []
            assert [r.get("consecutive") for r in again["results"]] == [
                r.get("consecutive") for r in summary["results"]]

    def breached(summary: dict) -> set[str]:
        return {r["feature"] for r in summary["results"]
                if r["check"] == "data_drift" and r.get("drift")}

    before = [now for now in weeks if now <= DRIFT_FROM]
    assert before and all(not breached(runs[now]) for now in before)
    # Once the current week is wholly drifted and the reference is not yet, both features breach.
    clearly = [now for now in weeks if DRIFT_FROM + timedelta(days=7) <= now
               and now - timedelta(days=30) <= DRIFT_FROM]
    assert len(clearly) >= 3
    assert all(breached(runs[now]) >= DRIFTED for now in clearly)
    # Once the reference window is wholly drifted too, nothing breaches.
    caught_up = [now for now in weeks if now - timedelta(days=60) >= DRIFT_FROM]
    assert len(caught_up) >= 3 and all(not breached(runs[now]) for now in caught_up)

    detected = outbox(workspace, "ml.model.drift.detected")
    resolved = outbox(workspace, "ml.model.drift.resolved")
    keys = Counter((e["data"]["check"], e["data"]["feature"], e["data"].get("segment"))
                   for e in detected)
    assert max(keys.values()) == 1  # each alert fired once, not on every run
    features = {f for check, f, segment in keys if check == "data_drift" and segment is None}
    assert features == DRIFTED
    fired = {e["data"]["feature"]: e for e in detected if e["data"]["check"] == "data_drift"}
    for feature in DRIFTED:
        assert fired[feature]["data"]["consecutive"] == 3
        assert fired[feature]["data"]["modelId"] == "fraud-imported"
    # The feature alerts have resolved by the end, each once; no alert resolved unfired.
    # (A segment's check is skipped in weeks with under 200 rows of it: no evaluation.)
    ended = Counter((e["data"]["check"], e["data"]["feature"], e["data"].get("segment"))
                    for e in resolved)
    assert set(ended) <= set(keys) and max(ended.values()) == 1
    assert {("data_drift", f, None) for f in DRIFTED} <= set(ended)
    fired_at = {run["now"] for run in runs.values()
                for r in run["results"] if r.get("eventIds") and r["check"] == "data_drift"
                and r.get("alert") == "firing"}
    assert fired_at and min(fired_at) > DRIFT_FROM.isoformat()
    audit = check_audit_log(workspace)
    assert audit.ok and audit.anchored_seq == audit.entries
