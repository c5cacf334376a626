"""Statements on ``event_outbox``: add an event with its pending deliveries, find events.

Every function takes the caller's session; the caller owns the transaction
(``db.transaction`` or ``db.write_transaction``), so an event is stored
exactly when the change it reports commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from riskops.storage.tables import EventDeliveryRow, OutboxEventRow

#: Shortest id prefix :func:`find_events` matches on.
MIN_PREFIX = 8
# PostgreSQL advisory lock key held by emitters until their transaction ends.
_PG_EMIT_LOCK = 0x7269736B6F7045  # "riskopE"


@dataclass(frozen=True)
class EventRecord:
    """An ``event_outbox`` row as plain values; ``envelope`` is the exact CloudEvents JSON."""

    seq: int
    id: str
    type: str
    source: str
    subject: str
    time: datetime
    envelope: str


def event_record(row: OutboxEventRow) -> EventRecord:
    """The plain values of ``row``."""
    return EventRecord(seq=row.seq, id=row.id, type=row.type, source=row.source,
                       subject=row.subject, time=row.time, envelope=row.envelope)


def serialize_emitters(session: Session) -> None:
    """On PostgreSQL, wait for other emitters' transactions to end and hold them off
    until this one ends, so ``seq`` order is commit order; a no-op on SQLite, whose
    writers are already serialised by ``BEGIN IMMEDIATE``.

    Call it before choosing the event's time: a dispatcher then never sees event
    N+1 of a subject before event N.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_EMIT_LOCK})


def add_event(
    session: Session, *, event_id: str, type: str, source: str, subject: str, time: datetime,
    envelope: str, sinks: Sequence[str],
) -> int:
    """Add one event and a pending delivery to each of ``sinks``, due at ``time``; its seq.

    Flushes but does not commit: the rows exist exactly when the caller's
    transaction commits.
    """
    row = OutboxEventRow(id=event_id, type=type, source=source, subject=subject, time=time,
                         envelope=envelope)
    session.add(row)
    session.flush()  # assigns row.seq
    for sink in sinks:
        session.add(EventDeliveryRow(event_seq=row.seq, sink=sink, status="pending",
                                     attempts=0, next_attempt_at=time))
    session.flush()
    return row.seq


def find_events(session: Session, event_id: str) -> list[EventRecord]:
    """The event with id ``event_id``; else, for a prefix of at least :data:`MIN_PREFIX`
    characters, up to two events whose id starts with it (two means ambiguous).

    An empty list means no event matches.
    """
    event = session.scalars(select(OutboxEventRow).where(OutboxEventRow.id == event_id)).first()
    if event is not None:
        return [event_record(event)]
    if len(event_id) < MIN_PREFIX:
        return []
    matches = session.scalars(select(OutboxEventRow)
                              .where(OutboxEventRow.id.startswith(event_id, autoescape=True))
                              .limit(2)).all()
    return [event_record(m) for m in matches]


def recent_events(session: Session, type: str, *, limit: int = 100) -> list[EventRecord]:
    """The newest ``limit`` events of ``type``, newest first."""
    rows = session.scalars(select(OutboxEventRow).where(OutboxEventRow.type == type)
                           .order_by(OutboxEventRow.seq.desc()).limit(limit))
    return [event_record(r) for r in rows]
