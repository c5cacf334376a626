"""Statements on ``event_deliveries``: due deliveries, claims, results, views and repairs.

The dispatcher's steps (:func:`due_deliveries`, :func:`claim_deliveries`,
:func:`record_attempt`) open their own short transactions from a database URL.
The views and repairs take the caller's session, so a repair can read, check
and update in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, aliased

from riskops.storage import db
from riskops.storage.outbox import EventRecord, event_record
from riskops.storage.tables import EventDeliveryRow, OutboxEventRow


@dataclass(frozen=True)
class DeliveryRecord:
    """An ``event_deliveries`` row as plain values."""

    id: int
    event_seq: int
    sink: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class DueDelivery:
    """A delivery ready to be claimed: its attempts so far and the event's exact JSON."""

    id: int
    sink: str
    attempts: int
    envelope: str


def _record(row: EventDeliveryRow) -> DeliveryRecord:
    return DeliveryRecord(id=row.id, event_seq=row.event_seq, sink=row.sink, status=row.status,
                          attempts=row.attempts, next_attempt_at=row.next_attempt_at,
                          last_error=row.last_error, delivered_at=row.delivered_at)


# --- the dispatcher's steps -----------------------------------------------------------


def due_deliveries(
    database_url: str, *, sinks: Sequence[str], now: datetime, limit: int,
) -> list[DueDelivery]:
    """Up to ``limit`` deliveries to ``sinks`` that are due and head their queue.

    Due: ``pending`` with ``next_attempt_at <= now``. Heading the queue: no
    earlier event of the same subject to the same sink is still ``pending`` or
    ``failed``. Ordered by event seq, then sink.
    """
    d, o = EventDeliveryRow, OutboxEventRow
    d2, o2 = aliased(EventDeliveryRow), aliased(OutboxEventRow)
    blocked = exists().where(
        d2.event_seq == o2.seq, d2.sink == d.sink, o2.subject == o.subject,
        d2.event_seq < d.event_seq, d2.status != "delivered",
    )
    due = (select(d.id, d.sink, d.attempts, o.envelope)
           .join(o, o.seq == d.event_seq)
           .where(d.status == "pending", d.next_attempt_at <= now,
                  d.sink.in_(sorted(sinks)), ~blocked)
           .order_by(d.event_seq, d.sink)
           .limit(limit))
    with db.read_session(database_url) as session:
        return [DueDelivery(r.id, r.sink, r.attempts, r.envelope)
                for r in session.execute(due).all()]


def claim_deliveries(
    database_url: str, ids: Sequence[int], *, now: datetime, lease_until: datetime,
) -> list[int]:
    """Claim the deliveries ``ids`` in one transaction; the ids this caller won, in order.

    Each claim is a conditional UPDATE: only a delivery still ``pending`` and due
    at ``now`` is taken; it gets ``next_attempt_at = lease_until`` and one more
    attempt, so other dispatchers skip it until the lease runs out. Pass ``ids``
    in (event seq, sink) order on every dispatcher so row locks never cycle.
    """
    d = EventDeliveryRow
    won = []
    with db.transaction(database_url) as session:
        for delivery_id in ids:
            count = session.execute(
                update(d).where(d.id == delivery_id, d.status == "pending",
                                d.next_attempt_at <= now)
                .values(next_attempt_at=lease_until, attempts=d.attempts + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            if count == 1:
                won.append(delivery_id)
    return won


def record_attempt(
    database_url: str, delivery_id: int, *, attempts: int, status: str,
    last_error: str | None, delivered_at: datetime | None = None,
    next_attempt_at: datetime | None = None,
) -> bool:
    """Store the outcome of a claimed attempt; False if the claim was no longer ours.

    Sets ``status`` and ``last_error``, and ``delivered_at`` / ``next_attempt_at``
    when given. Only while the delivery is still ``pending`` with ``attempts``
    attempts: had its lease expired and another dispatcher claimed it again,
    attempts moved on and this is a no-op.
    """
    d = EventDeliveryRow
    values: dict[str, object] = {"status": status, "last_error": last_error}
    if delivered_at is not None:
        values["delivered_at"] = delivered_at
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    with db.transaction(database_url) as session:
        count = session.execute(update(d).where(d.id == delivery_id, d.status == "pending",
                                                d.attempts == attempts)
                                .values(**values)
                                .execution_options(synchronize_session=False)).rowcount
    return count == 1


# --- views and repairs ----------------------------------------------------------------


def newest_deliveries(
    session: Session, *, status: str | None = None, type: str | None = None, limit: int = 50,
) -> list[tuple[EventRecord, DeliveryRecord]]:
    """Up to ``limit`` deliveries with their event, newest event first, then by sink;
    optionally only those with ``status`` and of events of ``type``."""
    query = (select(OutboxEventRow, EventDeliveryRow)
             .join(EventDeliveryRow, EventDeliveryRow.event_seq == OutboxEventRow.seq)
             .order_by(OutboxEventRow.seq.desc(), EventDeliveryRow.sink).limit(limit))
    if status is not None:
        query = query.where(EventDeliveryRow.status == status)
    if type is not None:
        query = query.where(OutboxEventRow.type == type)
    return [(event_record(event), _record(delivery))
            for event, delivery in session.execute(query)]


def deliveries_of(session: Session, event_seq: int) -> list[DeliveryRecord]:
    """Every delivery of the event ``event_seq``, by sink."""
    rows = session.scalars(select(EventDeliveryRow)
                           .where(EventDeliveryRow.event_seq == event_seq)
                           .order_by(EventDeliveryRow.sink)).all()
    return [_record(r) for r in rows]


def delivery_statuses(session: Session, event_seq: int) -> list[str]:
    """The status of each delivery of the event ``event_seq``."""
    return list(session.scalars(select(EventDeliveryRow.status)
                                .where(EventDeliveryRow.event_seq == event_seq)).all())


def failed_deliveries(
    session: Session, *, event_seq: int | None = None,
) -> list[tuple[EventRecord, DeliveryRecord]]:
    """Dead-lettered deliveries with their event, oldest event first; of one event
    when ``event_seq`` is given."""
    query = (select(OutboxEventRow, EventDeliveryRow)
             .join(EventDeliveryRow, EventDeliveryRow.event_seq == OutboxEventRow.seq)
             .where(EventDeliveryRow.status == "failed").order_by(OutboxEventRow.seq))
    if event_seq is not None:
        query = query.where(OutboxEventRow.seq == event_seq)
    return [(event_record(event), _record(delivery))
            for event, delivery in session.execute(query).all()]


def reset_to_pending(session: Session, ids: Sequence[int], *, now: datetime) -> None:
    """Make the deliveries ``ids`` pending again, due at ``now``, with no attempts."""
    if ids:
        session.execute(update(EventDeliveryRow).where(EventDeliveryRow.id.in_(ids))
                        .values(status="pending", attempts=0, next_attempt_at=now))
