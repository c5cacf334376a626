"""The transactional outbox: store an event first, deliver it after.

``emit`` adds the envelope and one pending delivery per configured sink to the
caller's transaction, so an event exists if and only if the change it reports
was committed. The :class:`~riskops.events.dispatcher.Dispatcher` delivers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.events.envelope import build_envelope, dumps
from riskops.events.settings import load_settings
from riskops.storage import db
from riskops.storage.tables import EventDeliveryRow, OutboxEventRow

STATUSES = ("pending", "delivered", "failed")
# PostgreSQL advisory lock key held by emitters until their transaction ends.
_PG_EMIT_LOCK = 0x7269736B6F7045  # "riskopE"


def emit(
    session: Session, ws: Workspace, *, type: str, subject: str, data: dict[str, Any],
    source: str = "riskops",
) -> str:
    """Add one event to the outbox inside the caller's transaction; return its id.

    Writes the CloudEvents envelope and one pending delivery per sink of
    ``[events] sinks``. Does not commit: the event is durable exactly when the
    caller's transaction commits, and vanishes if it rolls back.

    Raises
    ------
    ValueError
        Unknown type, empty subject, data not a JSON object with the type's keys.
    InputError
        The ``[events]`` config is invalid.
    """
    settings = load_settings(ws)
    if session.get_bind().dialect.name == "postgresql":
        # Serialise emitters until commit so ``seq`` order is commit order: a
        # dispatcher never sees event N+1 of a subject before event N.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_EMIT_LOCK})
    now = datetime.now(UTC)
    envelope = build_envelope(type=type, subject=subject, data=data, source=source, time=now)
    row = OutboxEventRow(id=envelope["id"], type=type, source=envelope["source"],
                         subject=subject, time=now, envelope=dumps(envelope))
    session.add(row)
    session.flush()  # assigns row.seq
    for sink in settings.sinks:
        session.add(EventDeliveryRow(event_seq=row.seq, sink=sink, status="pending",
                                     attempts=0, next_attempt_at=now))
    session.flush()
    return str(envelope["id"])


def emit_now(
    ws: Workspace, *, type: str, subject: str, data: dict[str, Any], source: str = "riskops",
) -> str:
    """Emit one event in its own short transaction, committed before returning its id."""
    with transaction(ws) as session:
        return emit(session, ws, type=type, subject=subject, data=data, source=source)


@contextmanager
def transaction(ws: Workspace) -> Iterator[Session]:
    """A plain write transaction (no registry lock); commits on success.

    On SQLite it starts with ``BEGIN IMMEDIATE`` so concurrent writers queue on
    the busy timeout instead of failing to upgrade a read lock.
    """
    conn = db.get_engine(ws.database_url).connect().execution_options(riskops_write=True)
    try:
        with conn.begin(), Session(bind=conn) as session:
            yield session
            session.flush()
    finally:
        conn.close()


# --- views and repairs (``riskops events ...``) -----------------------------------------


def list_deliveries(
    ws: Workspace, *, status: str | None = None, type: str | None = None, limit: int = 50,
) -> list[dict[str, Any]]:
    """Deliveries, newest event first, optionally filtered by status and event type."""
    if status is not None and status not in STATUSES:
        raise InputError(f"--status {status!r} is not one of {', '.join(STATUSES)}.")
    if limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}.")
    query = (select(OutboxEventRow, EventDeliveryRow)
             .join(EventDeliveryRow, EventDeliveryRow.event_seq == OutboxEventRow.seq)
             .order_by(OutboxEventRow.seq.desc(), EventDeliveryRow.sink).limit(limit))
    if status is not None:
        query = query.where(EventDeliveryRow.status == status)
    if type is not None:
        query = query.where(OutboxEventRow.type == type)
    with db.read_session(ws.database_url) as session:
        return [{**_event_summary(event), **_delivery(delivery)}
                for event, delivery in session.execute(query)]


def show_event(ws: Workspace, event_id: str) -> dict[str, Any]:
    """One event: its envelope and its delivery to every sink."""
    with db.read_session(ws.database_url) as session:
        event = _find(session, event_id)
        deliveries = session.scalars(select(EventDeliveryRow)
                                     .where(EventDeliveryRow.event_seq == event.seq)
                                     .order_by(EventDeliveryRow.sink)).all()
        return {**_event_summary(event), "envelope": json.loads(event.envelope),
                "deliveries": [_delivery(d) for d in deliveries]}


def retry_failed(ws: Workspace, event_id: str | None = None) -> list[dict[str, Any]]:
    """Put dead-lettered deliveries back to pending with a fresh attempt budget.

    ``event_id`` (or a unique prefix of at least 8 characters) retries one
    event; ``None`` retries every failed delivery. Returns what was reset.
    """
    now = datetime.now(UTC)
    with transaction(ws) as session:
        query = (select(OutboxEventRow, EventDeliveryRow)
                 .join(EventDeliveryRow, EventDeliveryRow.event_seq == OutboxEventRow.seq)
                 .where(EventDeliveryRow.status == "failed").order_by(OutboxEventRow.seq))
        if event_id is not None:
            event = _find(session, event_id)
            query = query.where(OutboxEventRow.seq == event.seq)
        rows = session.execute(query).all()
        if event_id is not None and not rows:
            statuses = session.scalars(select(EventDeliveryRow.status)
                                       .where(EventDeliveryRow.event_seq == event.seq)).all()
            raise InputError(f"event {event.id} has no failed delivery to retry (deliveries: "
                             f"{', '.join(statuses) or 'none'}); see riskops events show "
                             f"{event.id}.")
        ids = [d.id for _, d in rows]
        if ids:
            session.execute(update(EventDeliveryRow).where(EventDeliveryRow.id.in_(ids))
                            .values(status="pending", attempts=0, next_attempt_at=now))
        return [{**_event_summary(e), "sink": d.sink, "last_error": d.last_error}
                for e, d in rows]


def _find(session: Session, event_id: str) -> OutboxEventRow:
    event = session.scalars(select(OutboxEventRow).where(OutboxEventRow.id == event_id)).first()
    if event is not None:
        return event
    if len(event_id) >= 8:
        matches = session.scalars(select(OutboxEventRow)
                                  .where(OutboxEventRow.id.startswith(event_id, autoescape=True))
                                  .limit(2)).all()
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise InputError(f"event id prefix {event_id!r} matches several events; give more "
                             "characters.")
    raise InputError(f"no event with id {event_id!r}; list ids with riskops events list.")


def _event_summary(event: OutboxEventRow) -> dict[str, Any]:
    return {"id": event.id, "seq": event.seq, "type": event.type, "subject": event.subject,
            "source": event.source, "time": event.time.isoformat()}


def _delivery(d: EventDeliveryRow) -> dict[str, Any]:
    return {"sink": d.sink, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at.isoformat() if d.status == "pending" else None,
            "last_error": d.last_error,
            "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None}
