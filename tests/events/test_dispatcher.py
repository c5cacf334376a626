import json
import random
import threading
from typing import Any

import pytest
from events_helpers import Clock, Receiver, configure_events, log_lines, receiver  # noqa: F401
from sqlalchemy import select

from riskops.config import Workspace
from riskops.errors import DeliveryFailed
from riskops.events import emit_now
from riskops.events.dispatcher import Dispatcher, backoff_seconds
from riskops.events.sinks import LogSink
from riskops.storage import db
from riskops.storage.tables import EventDeliveryRow


def _bias(ws: Workspace, subject: str = "fraud", n: int = 0) -> str:
    return emit_now(ws, type="model_bias_alert", subject=subject, data={"n": n})


def _delivery(ws: Workspace, sink: str = "log") -> EventDeliveryRow:
    with db.read_session(ws.database_url) as s:
        return s.scalars(select(EventDeliveryRow).where(EventDeliveryRow.sink == sink)).one()


class FlakySink:
    """Fails the first ``fail`` sends of each subject in ``subjects``; records successes."""

    name = "log"

    def __init__(self, fail: int = 0, subjects: tuple[str, ...] = ()) -> None:
        self.fail = dict.fromkeys(subjects, fail)
        self.sent: list[dict[str, Any]] = []

    def send(self, envelope: dict[str, Any], body: str) -> None:
        if self.fail.get(envelope["subject"], 0) > 0:
            self.fail[envelope["subject"]] -= 1
            raise DeliveryFailed("sink unavailable")
        self.sent.append(envelope)

    def close(self) -> None:
        pass


def test_log_sink_appends_the_exact_envelope_lines(workspace: Workspace) -> None:
    ids = [_bias(workspace, n=i) for i in range(3)]
    result = Dispatcher(workspace).run_once()
    assert result.as_dict() == {"delivered": 3, "retried": 0, "failed": 0}
    lines = log_lines(workspace)
    assert [line["id"] for line in lines] == ids
    assert [line["data"]["n"] for line in lines] == [0, 1, 2]
    with db.read_session(workspace.database_url) as s:
        rows = s.scalars(select(EventDeliveryRow)).all()
    assert {(d.status, d.attempts, d.last_error) for d in rows} == {("delivered", 1, None)}
    assert all(d.delivered_at is not None for d in rows)
    # nothing is sent twice
    assert Dispatcher(workspace).run_once().attempted == 0
    assert len(log_lines(workspace)) == 3


def test_log_sink_failure_names_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DeliveryFailed, match=f"cannot append to {blocker}/events.jsonl"):
        LogSink(blocker / "events.jsonl").send({}, "{}")


def test_webhook_500_then_200_is_delivered_on_the_second_attempt(
    workspace: Workspace, receiver: Receiver
) -> None:
    ws = configure_events(workspace, f'sinks = ["webhook"]\nwebhook_url = "{receiver.url}"')
    receiver.statuses = [500, 200]
    event_id = _bias(ws)
    clock = Clock()
    dispatcher = Dispatcher(ws, clock=clock)
    assert dispatcher.run_once().as_dict() == {"delivered": 0, "retried": 1, "failed": 0}
    d = _delivery(ws, "webhook")
    assert (d.status, d.attempts) == ("pending", 1)
    assert "HTTP 500" in (d.last_error or "")
    clock.advance(3600)
    assert dispatcher.run_once().as_dict() == {"delivered": 1, "retried": 0, "failed": 0}
    d = _delivery(ws, "webhook")
    assert (d.status, d.attempts, d.last_error) == ("delivered", 2, None)
    assert len(receiver.requests) == 2
    request = receiver.requests[-1]
    assert request["headers"]["Content-Type"] == "application/cloudevents+json"
    body = json.loads(request["body"])
    assert body["id"] == event_id and body["specversion"] == "1.0"


def test_a_retry_waits_for_its_backoff(workspace: Workspace) -> None:
    sink = FlakySink(fail=1, subjects=("fraud",))
    clock = Clock()
    ws = configure_events(workspace, "backoff_base_seconds = 100\nbackoff_max_seconds = 100")
    dispatcher = Dispatcher(ws, sinks=[sink], clock=clock, rng=random.Random(1))
    _bias(ws)
    assert dispatcher.run_once().retried == 1
    due = _delivery(ws).next_attempt_at
    wait = (due - clock.now).total_seconds()
    assert 0 <= wait <= 100
    clock.advance(wait - 0.01)
    assert dispatcher.run_once().attempted == 0
    clock.advance(0.02)
    assert dispatcher.run_once().delivered == 1


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    rng = random.Random(0)
    for attempts, cap in ((1, 2), (2, 4), (3, 8), (9, 300), (30, 300)):
        delays = [backoff_seconds(attempts, base=2, cap=300, rng=rng) for _ in range(500)]
        assert 0 <= min(delays) < cap * 0.1
        assert cap * 0.9 < max(delays) <= cap


def test_dead_letter_after_max_attempts_then_retry_delivers(
    workspace: Workspace, receiver: Receiver, cli
) -> None:
    ws = configure_events(workspace, f'sinks = ["webhook"]\nwebhook_url = "{receiver.url}"\n'
                                     "max_attempts = 3")
    receiver.statuses = [503, 503, 503]
    event_id = _bias(ws)
    clock = Clock()
    dispatcher = Dispatcher(ws, clock=clock)
    outcomes = []
    for _ in range(3):
        outcomes.append(dispatcher.run_once().as_dict())
        clock.advance(3600)
    assert [o["retried"] for o in outcomes] == [1, 1, 0]
    assert outcomes[-1]["failed"] == 1
    d = _delivery(ws, "webhook")
    assert (d.status, d.attempts) == ("failed", 3)
    assert "HTTP 503" in (d.last_error or "")
    assert dispatcher.run_once().attempted == 0  # dead letters are not retried by themselves

    listed = cli("events", "list", "--status", "failed", "--json")
    assert listed.code == 0
    assert [(r["id"], r["sink"], r["attempts"]) for r in listed.json()] == [
        (event_id, "webhook", 3)]
    assert "HTTP 503" in listed.json()[0]["last_error"]

    retried = cli("events", "retry", event_id)
    assert retried.code == 0, retried.err
    assert "pending again" in retried.out
    d = _delivery(ws, "webhook")
    assert (d.status, d.attempts) == ("pending", 0)
    assert dispatcher.run_once().delivered == 1
    assert _delivery(ws, "webhook").status == "delivered"
    assert cli("events", "list", "--status", "failed", "--json").json() == []


def test_a_4xx_refusal_is_dead_lettered_at_once(
    workspace: Workspace, receiver: Receiver
) -> None:
    ws = configure_events(workspace, f'sinks = ["webhook"]\nwebhook_url = "{receiver.url}"')
    receiver.statuses = [400]
    _bias(ws)
    assert Dispatcher(ws).run_once().failed == 1
    d = _delivery(ws, "webhook")
    assert (d.status, d.attempts) == ("failed", 1)
    assert "HTTP 400" in (d.last_error or "")


def test_an_unreachable_webhook_is_retried(workspace: Workspace) -> None:
    ws = configure_events(workspace, 'sinks = ["webhook"]\nwebhook_url = "http://127.0.0.1:9/"\n'
                                     "webhook_timeout_seconds = 1")
    _bias(ws)
    assert Dispatcher(ws).run_once().retried == 1
    assert "ConnectError" in (_delivery(ws, "webhook").last_error or "")


def test_order_holds_per_subject_while_other_subjects_flow(workspace: Workspace) -> None:
    sink = FlakySink(fail=2, subjects=("fraud",))
    clock = Clock()
    dispatcher = Dispatcher(workspace, sinks=[sink], clock=clock)
    for i in range(3):
        _bias(workspace, "fraud", i)
        _bias(workspace, "shortfall", i)
    first = dispatcher.run_once()
    # fraud #0 failed and blocks fraud #1, #2; shortfall flows in order
    assert first.retried == 1
    assert [(e["subject"], e["data"]["n"]) for e in sink.sent] == [
        ("shortfall", 0), ("shortfall", 1), ("shortfall", 2)]
    clock.advance(3600)
    dispatcher.run_once()  # fraud #0 fails again
    assert [e["subject"] for e in sink.sent].count("fraud") == 0
    clock.advance(3600)
    dispatcher.run_once()
    assert [e["data"]["n"] for e in sink.sent if e["subject"] == "fraud"] == [0, 1, 2]


def test_a_dead_letter_blocks_its_subject_until_retried(workspace: Workspace) -> None:
    ws = configure_events(workspace, "max_attempts = 1")
    sink = FlakySink(fail=1, subjects=("fraud",))
    dispatcher = Dispatcher(ws, sinks=[sink], clock=Clock())
    first = _bias(ws, "fraud", 0)
    _bias(ws, "fraud", 1)
    assert dispatcher.run_once().as_dict() == {"delivered": 0, "retried": 0, "failed": 1}
    assert dispatcher.run_once().attempted == 0
    from riskops.events.outbox import retry_failed

    assert [r["id"] for r in retry_failed(ws, first)] == [first]
    assert dispatcher.run_once().delivered == 2
    assert [e["data"]["n"] for e in sink.sent] == [0, 1]


def test_a_claimed_delivery_is_invisible_to_other_dispatchers(workspace: Workspace) -> None:
    _bias(workspace)
    clock = Clock()
    first = Dispatcher(workspace, sinks=[FlakySink()], clock=clock)
    claims = first._claim(10, set())
    assert len(claims) == 1
    other = FlakySink()
    assert Dispatcher(workspace, sinks=[other], clock=clock).run_once().attempted == 0
    # a dispatcher that died holding the claim: after the lease another one delivers it
    clock.advance(61)
    assert Dispatcher(workspace, sinks=[other], clock=clock).run_once().delivered == 1
    assert _delivery(workspace).attempts == 2


def test_only_deliveries_for_its_sinks_are_handled(
    workspace: Workspace, receiver: Receiver
) -> None:
    ws = configure_events(workspace, f'sinks = ["log", "webhook"]\n'
                                     f'webhook_url = "{receiver.url}"')
    _bias(ws)
    assert Dispatcher(ws, sinks=[FlakySink()]).run_once().delivered == 1
    assert _delivery(ws, "webhook").status == "pending"
    assert Dispatcher(ws).run_once().delivered == 1
    assert len(receiver.requests) == 1


def test_run_forever_delivers_until_stopped(workspace: Workspace) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=Dispatcher(workspace).run_forever, args=(stop,),
                              kwargs={"interval": 0.05})
    thread.start()
    try:
        ids = [_bias(workspace, n=i) for i in range(5)]
        for _ in range(200):
            if len(log_lines(workspace)) == 5:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert [line["id"] for line in log_lines(workspace)] == ids


def test_a_stale_claim_cannot_overwrite_a_newer_delivery(workspace: Workspace) -> None:
    """A's lease ran out mid-send and B claimed the row; A's late failure must not stick."""
    from riskops.events.dispatcher import DispatchResult

    ws = configure_events(workspace, "max_attempts = 1\nlease_seconds = 10")
    clock = Clock()
    slow = Dispatcher(ws, sinks=[FlakySink(fail=1, subjects=("fraud",))], clock=clock)
    fast = Dispatcher(ws, sinks=[FlakySink()], clock=clock)
    _bias(ws)
    (stale,) = slow._claim(10, set())
    clock.advance(11)  # A's lease expires before its send returns
    (fresh,) = fast._claim(10, set())
    failed = DispatchResult()
    slow._deliver(stale, failed)  # A's send fails now and it would dead-letter the event
    assert failed.failed == 1
    assert _delivery(ws).status == "pending"  # ... but the row is B's claim now
    delivered = DispatchResult()
    fast._deliver(fresh, delivered)
    row = _delivery(ws)
    assert delivered.delivered == 1 and row.status == "delivered" and row.attempts == 2


def test_claims_per_pass_fit_in_the_lease(workspace: Workspace) -> None:
    ws = configure_events(workspace, "lease_seconds = 30\nwebhook_timeout_seconds = 5")
    assert Dispatcher(ws, sinks=[FlakySink()])._claim_size() == 3
