"""Statements on ``rule_state`` and ``rule_firings``: where each automatic rule stands, and
the firings it claimed. Shared by the retrain triggers and the rollback rules.

A firing is claimed by inserting its unique ``key``: of several schedulers,
workers, servers or redelivered messages that see the same firing, exactly one
insert succeeds. The ``retrain`` job then moves the firing's ``status``
forward with a conditional update (``queued`` -> ``training``), so a second
delivery of the same trigger finds nothing to take. Functions taking a
``session`` flush and never commit: the caller's transaction carries the
change with its events and audit entries.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskops.storage import db
from riskops.storage.tables import RuleFiringRow, RuleStateRow


def rule_state(session: Session, key: str) -> dict[str, Any] | None:
    """The stored state of rule ``key`` (``since``, ``firing``, ``evaluated_at``,
    ``value``, ``data`` parsed), or ``None`` if never evaluated."""
    row = session.get(RuleStateRow, key)
    if row is None:
        return None
    return {"since": row.since, "firing": bool(row.firing), "evaluated_at": row.evaluated_at,
            "value": row.value, "data": json.loads(row.data or "{}")}


def save_rule_state(session: Session, key: str, *, since: datetime | None, firing: bool,
                    evaluated_at: datetime, value: float | None = None,
                    data: dict[str, Any] | None = None) -> None:
    """Insert or replace the state of rule ``key``; flushes."""
    row = session.get(RuleStateRow, key)
    if row is None:
        row = RuleStateRow(key=key)
        session.add(row)
    row.since, row.firing, row.evaluated_at, row.value = since, firing, evaluated_at, value
    row.data = json.dumps(data or {}, sort_keys=True, default=str)
    session.flush()


def claim_firing(session: Session, key: str, *, kind: str, model: str, rule: str,
                 fired_at: datetime, status: str, data: dict[str, Any]) -> bool:
    """Insert the firing ``key``; ``False`` (nothing written) when it was already claimed."""
    try:
        with session.begin_nested():
            session.add(RuleFiringRow(key=key, kind=kind, model_name=model, rule=rule,
                                      fired_at=fired_at, status=status,
                                      data=json.dumps(data, sort_keys=True, default=str)))
    except IntegrityError:
        return False
    return True


def claimed(session: Session, key: str) -> dict[str, Any] | None:
    """The firing claimed under ``key`` in the caller's transaction, or ``None``."""
    row = session.scalars(select(RuleFiringRow).where(RuleFiringRow.key == key)).first()
    return None if row is None else _firing_dict(row)


def firing_keys(session: Session, keys: list[str]) -> set[str]:
    """Those of ``keys`` already claimed."""
    found: set[str] = set()
    for chunk in db.in_chunks(keys):
        found.update(session.scalars(select(RuleFiringRow.key)
                                     .where(RuleFiringRow.key.in_(chunk))))
    return found


def take_firing(database_url: str, key: str, *, expected: str, status: str) -> bool:
    """Move firing ``key`` from status ``expected`` to ``status`` in its own transaction;
    ``False`` when it is not in ``expected`` (taken by someone else, or unknown)."""
    with db.write_connection(database_url) as conn:
        result = conn.execute(update(RuleFiringRow)
                              .where(RuleFiringRow.key == key, RuleFiringRow.status == expected)
                              .values(status=status))
        return bool(result.rowcount)


def set_firing(session: Session, key: str, *, status: str,
               data: dict[str, Any] | None = None) -> None:
    """Set the status of firing ``key`` and merge ``data`` into its data; flushes."""
    row = session.scalars(select(RuleFiringRow).where(RuleFiringRow.key == key)).first()
    if row is None:
        raise KeyError(f"no rule firing {key!r}")
    row.status = status
    if data:
        row.data = json.dumps({**json.loads(row.data or "{}"), **data}, sort_keys=True,
                              default=str)
    session.flush()


def firing(database_url: str, key: str) -> dict[str, Any] | None:
    """The firing ``key`` as a dict (``data`` parsed), or ``None``."""
    with db.read_session(database_url) as session:
        return claimed(session, key)


def firings(database_url: str, *, kind: str, model: str | None = None,
            limit: int | None = 50, newest_first: bool = True) -> list[dict[str, Any]]:
    """The firings of ``kind`` (of ``model``), newest first unless ``newest_first`` is
    false; at most ``limit`` (``None``: all)."""
    query = select(RuleFiringRow).where(RuleFiringRow.kind == kind)
    if model is not None:
        query = query.where(RuleFiringRow.model_name == model)
    order = (RuleFiringRow.fired_at.desc(), RuleFiringRow.id.desc()) if newest_first \
        else (RuleFiringRow.id,)
    query = query.order_by(*order)
    if limit is not None:
        query = query.limit(limit)
    with db.read_session(database_url) as session:
        return [_firing_dict(r) for r in session.scalars(query)]


def _firing_dict(row: RuleFiringRow) -> dict[str, Any]:
    return {"key": row.key, "kind": row.kind, "model": row.model_name, "rule": row.rule,
            "fired_at": row.fired_at, "status": row.status,
            "data": json.loads(row.data or "{}")}
