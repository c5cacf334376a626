"""storage.outbox and storage.deliveries: the events tables' statements on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from storage_helpers import db_url  # noqa: F401

from riskops.storage import db, deliveries, outbox

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _add(url: str, *, subject: str = "fraud", sinks: tuple[str, ...] = ("log",),
         at: datetime = T0, event_id: str | None = None) -> int:
    with db.transaction(url) as session:
        outbox.serialize_emitters(session)
        return outbox.add_event(session, event_id=event_id or uuid.uuid4().hex,
                                type="model_bias_alert", source="/riskops", subject=subject,
                                time=at, envelope=f'{{"subject": "{subject}"}}', sinks=sinks)


def _deliveries(url: str, seq: int) -> list[deliveries.DeliveryRecord]:
    with db.read_session(url) as session:
        return deliveries.deliveries_of(session, seq)


def _due(url: str, *, sinks: tuple[str, ...] = ("log",), now: datetime = T0,
         limit: int = 100) -> list[tuple[int, str]]:
    return [(d.id, d.sink) for d in deliveries.due_deliveries(url, sinks=sinks, now=now,
                                                               limit=limit)]


# --- storage.outbox ---------------------------------------------------------------------


def test_add_event_stores_the_envelope_and_a_pending_delivery_per_sink(db_url: str) -> None:
    first = _add(db_url, sinks=("webhook", "log"), event_id="e" * 32)
    second = _add(db_url, sinks=())
    assert second > first
    with db.read_session(db_url) as session:
        (event,) = outbox.find_events(session, "e" * 32)
    assert (event.seq, event.type, event.source, event.subject, event.time) == (
        first, "model_bias_alert", "/riskops", "fraud", T0)
    assert event.envelope == '{"subject": "fraud"}'
    assert [(d.sink, d.status, d.attempts, d.next_attempt_at, d.last_error, d.delivered_at)
            for d in _deliveries(db_url, first)] == [("log", "pending", 0, T0, None, None),
                                                  ("webhook", "pending", 0, T0, None, None)]
    assert _deliveries(db_url, second) == []


def test_add_event_is_undone_with_the_callers_transaction(db_url: str) -> None:
    with pytest.raises(RuntimeError, match="the change failed"), \
            db.transaction(db_url) as session:
        outbox.add_event(session, event_id="gone", type="t", source="s", subject="x", time=T0,
                         envelope="{}", sinks=["log"])
        raise RuntimeError("the change failed")
    with db.read_session(db_url) as session:
        assert outbox.find_events(session, "gone") == []
        assert deliveries.newest_deliveries(session) == []


def test_find_events_by_id_and_by_unique_prefix(db_url: str) -> None:
    _add(db_url, event_id="abcdefgh-1111")
    _add(db_url, event_id="abcdefgh-2222")
    _add(db_url, event_id="abc%_xyz-3333")
    with db.read_session(db_url) as session:
        def ids(query: str) -> list[str]:
            return [e.id for e in outbox.find_events(session, query)]

        assert ids("abcdefgh-1111") == ["abcdefgh-1111"]
        assert ids("abcdefgh-2") == ["abcdefgh-2222"]
        assert sorted(ids("abcdefgh")) == ["abcdefgh-1111", "abcdefgh-2222"]  # ambiguous
        assert ids("abcdefg") == []  # shorter than MIN_PREFIX, no exact match
        assert ids("abc%_xyz") == ["abc%_xyz-3333"]
        assert ids("abc%____") == []  # wildcards in the prefix are literal characters
        assert ids("zzzzzzzz") == []


@pytest.mark.postgres
def test_emitters_wait_for_each_other_on_postgresql(postgres_url: str) -> None:
    db.migrate(postgres_url)
    second_done = threading.Event()
    seqs: list[int] = []

    def second() -> None:
        seqs.append(_add(postgres_url, subject="second"))
        second_done.set()

    with db.transaction(postgres_url) as session:
        outbox.serialize_emitters(session)
        seqs.append(outbox.add_event(session, event_id=uuid.uuid4().hex, type="t", source="s",
                                     subject="first", time=T0, envelope="{}", sinks=["log"]))
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert not second_done.is_set()  # held off until the first emitter commits
    thread.join(10)
    assert second_done.is_set() and seqs[0] < seqs[1]


# --- storage.deliveries: the dispatcher's steps -------------------------------------------


def test_due_deliveries_head_their_subject_and_sink_queue(db_url: str) -> None:
    a1 = _add(db_url, subject="a", sinks=("log", "webhook"))
    a2 = _add(db_url, subject="a", sinks=("log", "webhook"))
    b1 = _add(db_url, subject="b", sinks=("log",))
    later = _add(db_url, subject="c", sinks=("log",), at=T0 + timedelta(minutes=1))
    ids = {(seq, d.sink): d.id for seq in (a1, a2, b1, later) for d in _deliveries(db_url, seq)}
    assert _due(db_url, sinks=("webhook", "log")) == [
        (ids[a1, "log"], "log"), (ids[a1, "webhook"], "webhook"), (ids[b1, "log"], "log")]
    assert _due(db_url, sinks=("log",), limit=1) == [(ids[a1, "log"], "log")]
    assert _due(db_url, now=T0 + timedelta(minutes=1))[-1] == (ids[later, "log"], "log")
    # Delivered to log, a1 no longer blocks a2 there; webhook still waits behind a1.
    (claimed,) = deliveries.claim_deliveries(db_url, [ids[a1, "log"]], now=T0, lease_until=T0)
    assert deliveries.record_attempt(db_url, claimed, attempts=1, status="delivered",
                                     last_error=None, delivered_at=T0)
    assert _due(db_url, sinks=("log", "webhook")) == [
        (ids[a1, "webhook"], "webhook"), (ids[a2, "log"], "log"), (ids[b1, "log"], "log")]
    # A dead-lettered a1 keeps blocking a2 on its sink.
    (claimed,) = deliveries.claim_deliveries(db_url, [ids[a1, "webhook"]], now=T0,
                                             lease_until=T0)
    assert deliveries.record_attempt(db_url, claimed, attempts=1, status="failed",
                                     last_error="HTTP 400")
    assert _due(db_url, sinks=("webhook",)) == []


def test_claims_are_won_once_and_push_the_delivery_a_lease_ahead(db_url: str) -> None:
    seqs = [_add(db_url, subject=s) for s in ("a", "b", "c")]
    ids = [_deliveries(db_url, seq)[0].id for seq in seqs]
    lease = T0 + timedelta(seconds=60)
    assert deliveries.claim_deliveries(db_url, ids[:2], now=T0, lease_until=lease) == ids[:2]
    assert deliveries.claim_deliveries(db_url, ids, now=T0, lease_until=lease) == ids[2:]
    assert _due(db_url) == []
    (first,) = _deliveries(db_url, seqs[0])
    assert (first.status, first.attempts, first.next_attempt_at) == ("pending", 1, lease)
    # Once the lease ran out, another dispatcher claims it again: a second attempt.
    assert deliveries.claim_deliveries(db_url, ids[:1], now=lease, lease_until=lease) == ids[:1]
    assert _deliveries(db_url, seqs[0])[0].attempts == 2


def test_a_stale_attempt_result_changes_nothing(db_url: str) -> None:
    seq = _add(db_url)
    (delivery,) = _deliveries(db_url, seq)
    deliveries.claim_deliveries(db_url, [delivery.id], now=T0, lease_until=T0)
    deliveries.claim_deliveries(db_url, [delivery.id], now=T0, lease_until=T0)  # re-claimed
    assert not deliveries.record_attempt(db_url, delivery.id, attempts=1, status="failed",
                                         last_error="stale")
    retry_at = T0 + timedelta(seconds=5)
    assert deliveries.record_attempt(db_url, delivery.id, attempts=2, status="pending",
                                     last_error="timeout", next_attempt_at=retry_at)
    (after,) = _deliveries(db_url, seq)
    assert (after.status, after.attempts, after.last_error, after.next_attempt_at,
            after.delivered_at) == ("pending", 2, "timeout", retry_at, None)


# --- storage.deliveries: views and repairs -----------------------------------------------


def test_views_and_the_repair_of_failed_deliveries(db_url: str) -> None:
    first = _add(db_url, subject="a", sinks=("log", "webhook"))
    second = _add(db_url, subject="b", sinks=("log",))
    for d in _deliveries(db_url, first):
        deliveries.claim_deliveries(db_url, [d.id], now=T0, lease_until=T0)
        deliveries.record_attempt(db_url, d.id, attempts=1, status="failed", last_error=d.sink)
    with db.read_session(db_url) as session:
        assert [(e.seq, d.sink) for e, d in deliveries.newest_deliveries(session)] == [
            (second, "log"), (first, "log"), (first, "webhook")]
        assert [(e.seq, d.sink) for e, d in deliveries.newest_deliveries(
            session, status="failed", limit=1)] == [(first, "log")]
        assert deliveries.newest_deliveries(session, type="ml.model.promoted") == []
        assert sorted(deliveries.delivery_statuses(session, first)) == ["failed", "failed"]
        assert deliveries.failed_deliveries(session, event_seq=second) == []
    with db.transaction(db_url) as session:
        failed = deliveries.failed_deliveries(session)
        assert [(e.seq, d.sink, d.last_error) for e, d in failed] == [
            (first, "log", "log"), (first, "webhook", "webhook")]
        deliveries.reset_to_pending(session, [d.id for _, d in failed], now=T0)
        deliveries.reset_to_pending(session, [], now=T0)
    assert [(d.status, d.attempts, d.next_attempt_at) for d in _deliveries(db_url, first)] == [
        ("pending", 0, T0), ("pending", 0, T0)]
