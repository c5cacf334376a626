"""Rows and workspaces for the retrain tests: fraud v1 in production, evidence in the DB."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest
from gov_helpers import gov_template, gov_ws, people  # noqa: F401  (fixtures)
from sqlalchemy import insert

from riskops.config import Workspace, open_workspace
from riskops.registry.service import Registry
from riskops.storage import db
from riskops.storage.tables import AlertStateRow, FeedbackRow, OutcomeRow, PredictionRow


@pytest.fixture
def live_ws(gov_ws: Workspace) -> Workspace:  # noqa: F811
    """The governance workspace with fraud v1 in production (no bias audit yet)."""
    Registry(gov_ws).promote("fraud", 1, actor="test", force=True)
    return gov_ws


def configure(ws: Workspace, text: str) -> Workspace:
    """Append TOML ``text`` to the workspace config; reopen the workspace."""
    with ws.config_path.open("a", encoding="utf-8") as f:
        f.write("\n" + text.strip() + "\n")
    return open_workspace(ws.home)


def version_created(ws: Workspace, model: str = "fraud") -> datetime:
    return max(datetime.fromisoformat(v["created_at"])
               for v in Registry(ws).show_model(model)["versions"])


def add_predictions(ws: Workspace, at: datetime, count: int, *, scenario: str = "fraud",
                    inputs: list[dict[str, Any]] | None = None, **columns: Any) -> list[str]:
    """``count`` logged predictions at ``at`` (``columns`` override any column); their ids.
    ``inputs`` gives each row's logged inputs."""
    rows = []
    for i in range(count):
        row = {"id": str(uuid.uuid4()), "created_at": at, "tenant_id": "default",
               "scenario": scenario, "model_name": scenario, "model_version": 1,
               "manifest_version": 3, "method": "ml", "route": "production",
               "inputs": json.dumps(inputs[i] if inputs else {"amount": 1.5}),
               "score": 0.25, "label": "low", "threshold": 0.5, "reasons": "[]",
               "latency_ms": 1.0}
        row.update(columns)
        rows.append(row)
    if rows:
        with db.write_connection(ws.database_url) as conn:
            conn.execute(insert(PredictionRow), rows)
    return [r["id"] for r in rows]


def add_feedback(ws: Workspace, ids: list[str], at: datetime, *, label: str | None = "1",
                 override: bool = False) -> None:
    if not ids:
        return
    with db.write_connection(ws.database_url) as conn:
        conn.execute(insert(FeedbackRow), [
            {"prediction_id": pid, "created_at": at, "actor": "reviewer", "label": label,
             "override": override, "severity": None, "comment": None} for pid in ids])


def add_outcomes(ws: Workspace, ids: list[str], at: datetime, *, label: str) -> None:
    with db.write_connection(ws.database_url) as conn:
        conn.execute(insert(OutcomeRow), [
            {"prediction_id": pid, "label": label, "observed_at": at, "recorded_at": at,
             "actor": "test"} for pid in ids])


def add_alert(ws: Workspace, *, model: str, changed_at: datetime, evaluated_at: datetime,
              check: str = "data_drift", firing: bool = True, feature: str = "amount") -> None:
    with db.write_connection(ws.database_url) as conn:
        conn.execute(insert(AlertStateRow).values(
            check_name=check, tenant_id="default", model_id=model, segment="", feature=feature,
            metric="psi", firing=firing, breaches=3, cleans=0, evaluated_at=evaluated_at,
            last_value=0.4, changed_at=changed_at))


def events_of(ws: Workspace, type_: str) -> list[dict[str, Any]]:
    """The ``data`` of every ``type_`` event in the outbox, oldest first."""
    from riskops.storage.outbox import recent_events

    with db.read_session(ws.database_url) as session:
        found = recent_events(session, type_, limit=1000)
    return [json.loads(e.envelope)["data"] for e in reversed(found)]
