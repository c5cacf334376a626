"""Statements of the automatic-rollback rules: their state, their firings, their evidence.

``rule_state`` rows keep where a rule stands between evaluations; a
``rule_firings`` row claims one firing by its unique key. Both take the
caller's session inside ``db.write_transaction``, which serialises every
scheduler and server, so a claim checked there is claimed once.
``critical_feedback`` reads the critical labels on one model version's
predictions, with those predictions.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskops.storage import db
from riskops.storage.tables import FeedbackRow, PredictionRow, RuleFiringRow, RuleStateRow


def rule_state(session: Session, key: str) -> dict[str, Any] | None:
    """The state under ``key`` (since, firing, evaluated_at, value, data parsed), or ``None``."""
    row = session.get(RuleStateRow, key)
    if row is None:
        return None
    return {"since": row.since, "firing": row.firing, "evaluated_at": row.evaluated_at,
            "value": row.value, "data": json.loads(row.data or "{}")}


def save_rule_state(session: Session, key: str, *, since: datetime | None, firing: bool,
                    evaluated_at: datetime, value: float | None,
                    data: dict[str, Any]) -> None:
    """Insert or update the state under ``key``; flushes, never commits."""
    row = session.get(RuleStateRow, key)
    if row is None:
        row = RuleStateRow(key=key)
        session.add(row)
    row.since, row.firing, row.evaluated_at, row.value = since, firing, evaluated_at, value
    row.data = json.dumps(data, sort_keys=True, default=str)
    session.flush()


def firing(session: Session, key: str) -> dict[str, Any] | None:
    """The firing claimed under ``key`` (kind, model, rule, fired_at, status, data), or ``None``."""
    row = session.scalar(select(RuleFiringRow).where(RuleFiringRow.key == key))
    if row is None:
        return None
    return {"key": row.key, "kind": row.kind, "model": row.model_name, "rule": row.rule,
            "fired_at": row.fired_at, "status": row.status,
            "data": json.loads(row.data or "{}")}


def claim_firing(session: Session, key: str, *, kind: str, model: str, rule: str,
                 fired_at: datetime, status: str, data: dict[str, Any]) -> bool:
    """Claim ``key`` for this firing; ``False`` (nothing written) if it was claimed before."""
    if firing(session, key) is not None:
        return False
    session.add(RuleFiringRow(key=key, kind=kind, model_name=model, rule=rule,
                              fired_at=fired_at, status=status,
                              data=json.dumps(data, sort_keys=True, default=str)))
    session.flush()
    return True


def read_firings(database_url: str, *, kind: str, model: str | None = None
                 ) -> list[dict[str, Any]]:
    """Every firing of ``kind`` (of ``model``), oldest first."""
    query = select(RuleFiringRow.key).where(RuleFiringRow.kind == kind)
    if model is not None:
        query = query.where(RuleFiringRow.model_name == model)
    with db.read_session(database_url) as session:
        keys = list(session.scalars(query.order_by(RuleFiringRow.id)))
        return [f for f in (firing(session, k) for k in keys) if f is not None]


def critical_feedback(database_url: str, *, model: str, version: int, since: datetime,
                      until: datetime) -> list[dict[str, Any]]:
    """Feedback of severity ``critical`` recorded in ``[since, until]`` on predictions of
    ``model`` v``version``, oldest first, each with its prediction (``inputs`` parsed)."""
    f, p = FeedbackRow, PredictionRow
    query = (select(f.id, f.created_at, f.actor, f.label, f.override, f.comment,
                    p.id, p.created_at, p.tenant_id, p.scenario, p.model_version,
                    p.manifest_version, p.route, p.inputs, p.score, p.label)
             .join(p, p.id == f.prediction_id)
             .where(f.severity == "critical", f.created_at >= since, f.created_at <= until,
                    p.model_name == model, p.model_version == version)
             .order_by(f.created_at, f.id))
    with db.get_engine(database_url).connect() as conn:
        return [{"feedback_id": r[0], "created_at": r[1], "actor": r[2], "label": r[3],
                 "override": bool(r[4]), "comment": r[5],
                 "prediction": {"id": r[6], "created_at": r[7], "tenant_id": r[8],
                                "scenario": r[9], "model_version": r[10],
                                "manifest_version": r[11], "route": r[12],
                                "inputs": json.loads(r[13]), "score": r[14],
                                "label": r[15]}}
                for r in conn.execute(query)]
