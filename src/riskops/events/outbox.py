"""The transactional outbox: store an event first, deliver it after.

``emit`` adds the envelope and one pending delivery per configured sink to the
caller's transaction, so an event exists if and only if the change it reports
was committed. The :class:`~riskops.events.dispatcher.Dispatcher` delivers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.events.envelope import build_envelope, dumps
from riskops.events.grafana import annotates
from riskops.events.settings import load_settings
from riskops.storage import db, deliveries, outbox
from riskops.storage.db import Session
from riskops.storage.deliveries import DeliveryRecord
from riskops.storage.outbox import EventRecord

STATUSES = ("pending", "delivered", "failed")


def emit(
    session: Session, ws: Workspace, *, type: str, subject: str, data: dict[str, Any],
    source: str = "riskops",
) -> str:
    """Add one event to the outbox inside the caller's transaction; return its id.

    Writes the CloudEvents envelope and one pending delivery per sink of
    ``[events] sinks`` that takes the type (the grafana sink only takes
    :data:`~riskops.events.grafana.ANNOTATED_TYPES`). Does not commit: the event
    is durable exactly when the caller's transaction commits, and vanishes if it
    rolls back.

    Raises
    ------
    ValueError
        Unknown type, empty subject, data not a JSON object with the type's keys.
    InputError
        The ``[events]`` config is invalid.
    """
    settings = load_settings(ws)
    # Serialise emitters until commit (PostgreSQL) so ``seq`` order is commit order.
    outbox.serialize_emitters(session)
    now = datetime.now(UTC)
    envelope = build_envelope(type=type, subject=subject, data=data, source=source, time=now)
    sinks = [s for s in settings.sinks if s != "grafana" or annotates(type)]
    outbox.add_event(session, event_id=envelope["id"], type=type, source=envelope["source"],
                     subject=subject, time=now, envelope=dumps(envelope), sinks=sinks)
    return str(envelope["id"])


def emit_now(
    ws: Workspace, *, type: str, subject: str, data: dict[str, Any], source: str = "riskops",
) -> str:
    """Emit one event in its own short transaction, committed before returning its id."""
    with db.transaction(ws.database_url) as session:
        return emit(session, ws, type=type, subject=subject, data=data, source=source)


# --- views and repairs (``riskops events ...``) -----------------------------------------


def list_deliveries(
    ws: Workspace, *, status: str | None = None, type: str | None = None, limit: int = 50,
) -> list[dict[str, Any]]:
    """Deliveries, newest event first, optionally filtered by status and event type."""
    if status is not None and status not in STATUSES:
        raise InputError(f"--status {status!r} is not one of {', '.join(STATUSES)}.")
    if limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}.")
    with db.read_session(ws.database_url) as session:
        rows = deliveries.newest_deliveries(session, status=status, type=type, limit=limit)
    return [{**_event_summary(event), **_delivery(delivery)} for event, delivery in rows]


def show_event(ws: Workspace, event_id: str) -> dict[str, Any]:
    """One event: its envelope and its delivery to every sink."""
    with db.read_session(ws.database_url) as session:
        event = _find(session, event_id)
        found = deliveries.deliveries_of(session, event.seq)
    return {**_event_summary(event), "envelope": json.loads(event.envelope),
            "deliveries": [_delivery(d) for d in found]}


def retry_failed(ws: Workspace, event_id: str | None = None) -> list[dict[str, Any]]:
    """Put dead-lettered deliveries back to pending with a fresh attempt budget.

    ``event_id`` (or a unique prefix of at least 8 characters) retries one
    event; ``None`` retries every failed delivery. Returns what was reset.
    """
    now = datetime.now(UTC)
    with db.transaction(ws.database_url) as session:
        event = None if event_id is None else _find(session, event_id)
        rows = deliveries.failed_deliveries(session,
                                            event_seq=None if event is None else event.seq)
        if event is not None and not rows:
            statuses = deliveries.delivery_statuses(session, event.seq)
            raise InputError(f"event {event.id} has no failed delivery to retry (deliveries: "
                             f"{', '.join(statuses) or 'none'}); see riskops events show "
                             f"{event.id}.")
        deliveries.reset_to_pending(session, [d.id for _, d in rows], now=now)
        return [{**_event_summary(e), "sink": d.sink, "last_error": d.last_error}
                for e, d in rows]


def _find(session: Session, event_id: str) -> EventRecord:
    matches = outbox.find_events(session, event_id)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InputError(f"event id prefix {event_id!r} matches several events; give more "
                         "characters.")
    raise InputError(f"no event with id {event_id!r}; list ids with riskops events list.")


def _event_summary(event: EventRecord) -> dict[str, Any]:
    return {"id": event.id, "seq": event.seq, "type": event.type, "subject": event.subject,
            "source": event.source, "time": event.time.isoformat()}


def _delivery(d: DeliveryRecord) -> dict[str, Any]:
    return {"sink": d.sink, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at.isoformat() if d.status == "pending" else None,
            "last_error": d.last_error,
            "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None}
