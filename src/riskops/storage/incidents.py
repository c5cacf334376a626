"""Statements on ``incidents``: the record of each automatic rollback.

``record`` is stored as canonical JSON text; readers get it back parsed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from riskops.storage import db
from riskops.storage.tables import IncidentRow


def add_incident(session: Session, *, model: str, opened_at: datetime, rule: str,
                 from_version: int | None, to_version: int | None,
                 record: dict[str, Any]) -> int:
    """Insert an incident; its id. Flushes, never commits."""
    row = IncidentRow(model_name=model, opened_at=opened_at, rule=rule,
                      from_version=from_version, to_version=to_version,
                      record=json.dumps(record, sort_keys=True, default=str))
    session.add(row)
    session.flush()
    return int(row.id)


def read_incidents(database_url: str, model: str, version: int | None = None
                   ) -> list[dict[str, Any]]:
    """``model``'s incidents oldest first; with ``version``, those it was rolled back
    from or to. Each dict: id, model, opened_at, rule, from_version, to_version, record."""
    query = select(IncidentRow).where(IncidentRow.model_name == model)
    if version is not None:
        query = query.where(or_(IncidentRow.from_version == version,
                                IncidentRow.to_version == version))
    with db.read_session(database_url) as session:
        return [{"id": r.id, "model": r.model_name, "opened_at": r.opened_at, "rule": r.rule,
                 "from_version": r.from_version, "to_version": r.to_version,
                 "record": json.loads(r.record)}
                for r in session.scalars(query.order_by(IncidentRow.id))]
