"""Statements on ``model_freezes``: the models whose promotions are halted.

Writes take the caller's session (inside ``db.write_transaction``), so a freeze
commits with its audit entry and manifest, or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from riskops.storage import db
from riskops.storage.tables import ModelFreezeRow


def _as_dict(row: ModelFreezeRow) -> dict[str, Any]:
    return {"model": row.model_name, "frozen_at": row.frozen_at, "frozen_by": row.frozen_by,
            "reason": row.reason, "incident_id": row.incident_id}


def freeze_of(session: Session, model: str) -> dict[str, Any] | None:
    """``model``'s freeze (model, frozen_at, frozen_by, reason, incident_id), or ``None``."""
    row = session.get(ModelFreezeRow, model)
    return None if row is None else _as_dict(row)


def read_freeze(database_url: str, model: str) -> dict[str, Any] | None:
    """``freeze_of`` in its own read session."""
    with db.read_session(database_url) as session:
        return freeze_of(session, model)


def read_freezes(database_url: str) -> list[dict[str, Any]]:
    """Every freeze, by model name."""
    with db.read_session(database_url) as session:
        rows = session.scalars(select(ModelFreezeRow).order_by(ModelFreezeRow.model_name))
        return [_as_dict(r) for r in rows]


def put_freeze(session: Session, model: str, *, frozen_at: datetime, frozen_by: str,
               reason: str, incident_id: int | None) -> None:
    """Insert or replace ``model``'s freeze; flushes, never commits."""
    row = session.get(ModelFreezeRow, model)
    if row is None:
        row = ModelFreezeRow(model_name=model)
        session.add(row)
    row.frozen_at, row.frozen_by, row.reason, row.incident_id = (
        frozen_at, frozen_by, reason, incident_id)
    session.flush()


def delete_freeze(session: Session, model: str) -> bool:
    """Remove ``model``'s freeze; whether there was one."""
    result = session.execute(delete(ModelFreezeRow).where(ModelFreezeRow.model_name == model))
    session.expire_all()
    return bool(result.rowcount)
