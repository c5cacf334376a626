"""Statements on ``alert_state``: one row per monitored quantity, read and upserted.

A key is the tuple ``(check, tenant_id, model_id, segment, feature, metric)``
of plain strings (``""`` for no segment or feature). ``load_states`` and
``save_states`` take the caller's session so the state changes commit with
the events and audit entries of the same monitoring run
(``db.write_transaction``, which serialises concurrent runs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskops.storage import db
from riskops.storage.tables import AlertStateRow

AlertKey = tuple[str, str, str, str, str, str]
#: The row's values besides its key, as ``load_states`` returns and ``save_states`` takes.
FIELDS = ("firing", "breaches", "cleans", "evaluated_at", "last_value", "changed_at")


def _key(row: AlertStateRow) -> AlertKey:
    return (row.check_name, row.tenant_id, row.model_id, row.segment, row.feature, row.metric)


def _values(row: AlertStateRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in FIELDS}


def load_states(session: Session, model_ids: Iterable[str]) -> dict[AlertKey, dict[str, Any]]:
    """Every stored state of ``model_ids``, by key, as dicts of :data:`FIELDS`."""
    wanted = sorted(set(model_ids))
    states: dict[AlertKey, dict[str, Any]] = {}
    for chunk in db.in_chunks(wanted):
        rows = session.scalars(select(AlertStateRow).where(AlertStateRow.model_id.in_(chunk)))
        states.update({_key(r): _values(r) for r in rows})
    return states


def save_states(session: Session, states: Mapping[AlertKey, Mapping[str, Any]]) -> None:
    """Insert or update the row of each key with its :data:`FIELDS`; flushes, never commits."""
    if not states:
        return
    existing = {}
    for model_id in {key[2] for key in states}:
        for row in session.scalars(select(AlertStateRow)
                                   .where(AlertStateRow.model_id == model_id)):
            existing[_key(row)] = row
    for key, values in states.items():
        row = existing.get(key)
        if row is None:
            check, tenant, model, segment, feature, metric = key
            row = AlertStateRow(check_name=check, tenant_id=tenant, model_id=model,
                                segment=segment, feature=feature, metric=metric)
            session.add(row)
        for name in FIELDS:
            setattr(row, name, values[name])
    session.flush()


def read_states(database_url: str, *, firing_only: bool = False) -> list[dict[str, Any]]:
    """Every state (or only the firing ones), as dicts with the key's names and
    :data:`FIELDS`, ordered by model, tenant, check, segment, feature, metric."""
    query = select(AlertStateRow).order_by(
        AlertStateRow.model_id, AlertStateRow.tenant_id, AlertStateRow.check_name,
        AlertStateRow.segment, AlertStateRow.feature, AlertStateRow.metric)
    if firing_only:
        query = query.where(AlertStateRow.firing.is_(True))
    with db.read_session(database_url) as session:
        return [{"check": r.check_name, "tenant_id": r.tenant_id, "model_id": r.model_id,
                 "segment": r.segment, "feature": r.feature, "metric": r.metric,
                 **_values(r)} for r in session.scalars(query)]

