"""The RabbitMQ sink against the real broker (skipped with a reason when absent, failed
under CI). An outage is simulated with a TCP proxy, never by stopping the shared broker."""

import json
from pathlib import Path

import pika
import pytest
from events_helpers import BoundQueue, Clock, TcpProxy, configure_events
from sqlalchemy import select

from riskops.config import Workspace
from riskops.events import emit_now
from riskops.events.dispatcher import Dispatcher
from riskops.storage import db
from riskops.storage.tables import EventDeliveryRow


def _exchange(tmp_path: Path) -> str:
    return f"riskops.test.{tmp_path.name}"


@pytest.fixture
def queue(amqp_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    q = BoundQueue(amqp_url, _exchange(tmp_path), "#")
    try:
        yield q
    finally:
        try:
            q.channel.exchange_delete(_exchange(tmp_path))
        finally:
            q.close()


def _amqp_workspace(ws: Workspace, url: str, tmp_path: Path, extra: str = "") -> Workspace:
    return configure_events(ws, f'sinks = ["amqp"]\nexchange = "{_exchange(tmp_path)}"\n'
                                f"amqp_timeout_seconds = 2\n{extra}")


def test_events_are_published_persistent_with_their_id_and_type(
    workspace: Workspace, amqp_url: str, queue: BoundQueue, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RISKOPS_AMQP_URL", amqp_url)
    ws = _amqp_workspace(workspace, amqp_url, tmp_path)
    drift = {"modelId": "fraud", "tenantId": "acme", "metric": "psi", "value": 0.4,
             "threshold": 0.2, "delta": 0.2}
    ids = [emit_now(ws, type="ml.model.drift.detected", subject="fraud", data=drift),
           emit_now(ws, type="workflow.job.trigger", subject="monitoring",
                    data={"job": "monitoring", "metadata": {"tenant": "acme"}})]
    dispatcher = Dispatcher(ws)
    try:
        assert dispatcher.run_once().delivered == 2
    finally:
        dispatcher.close()
    messages = queue.drain()
    assert [m.routing_key for m, _, _ in messages] == ["ml.model.drift.detected",
                                                       "workflow.job.trigger"]
    for (method, props, body), event_id in zip(messages, ids, strict=True):
        assert method.exchange == _exchange(tmp_path)
        assert props.message_id == event_id
        assert props.delivery_mode == pika.DeliveryMode.Persistent.value
        assert props.content_type == "application/cloudevents+json"
        envelope = json.loads(body)
        assert envelope["id"] == event_id and envelope["specversion"] == "1.0"
        assert envelope["type"] == method.routing_key
    assert json.loads(messages[0][2])["data"] == drift


def test_the_exchange_is_a_durable_topic_exchange(
    workspace: Workspace, amqp_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RISKOPS_AMQP_URL", amqp_url)
    ws = _amqp_workspace(workspace, amqp_url, tmp_path)
    emit_now(ws, type="model_bias_alert", subject="fraud", data={})
    Dispatcher(ws).run_once()
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = conn.channel()
        # passive redeclare with the same type and durability succeeds only if they match
        channel.exchange_declare(_exchange(tmp_path), exchange_type="topic", durable=True,
                                 passive=True)
        channel.exchange_delete(_exchange(tmp_path))
    finally:
        conn.close()


def test_broker_outage_keeps_events_pending_then_delivers_all(
    workspace: Workspace, amqp_url: str, queue: BoundQueue, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker = pika.URLParameters(amqp_url)
    proxy = TcpProxy((broker.host, broker.port))
    proxy.start()
    via_proxy = amqp_url.replace(f"{broker.host}:{broker.port}", f"127.0.0.1:{proxy.port}")
    monkeypatch.setenv("RISKOPS_AMQP_URL", via_proxy)
    ws = _amqp_workspace(workspace, via_proxy, tmp_path, "max_attempts = 50")
    clock = Clock()
    dispatcher = Dispatcher(ws, clock=clock)
    try:
        ids = [emit_now(ws, type="model_bias_alert", subject="fraud", data={"n": 0})]
        assert dispatcher.run_once().delivered == 1  # connection open and used

        proxy.stop()  # the broker is gone: refused, and the open connection is cut
        for n in range(1, 6):
            ids.append(emit_now(ws, type="model_bias_alert", subject=f"s{n % 2}",
                                data={"n": n}))
        for _ in range(3):
            step = dispatcher.run_once()
            assert step.delivered == 0 and step.failed == 0
            clock.advance(3600)
        with db.read_session(ws.database_url) as s:
            rows = s.scalars(select(EventDeliveryRow).order_by(EventDeliveryRow.event_seq)).all()
        assert [r.status for r in rows] == ["delivered"] + ["pending"] * 5
        # the head of each subject's queue was tried; the events behind it wait their turn
        assert [r.attempts > 0 for r in rows[1:]] == [True, True, False, False, False]
        assert "broker 127.0.0.1" in (rows[1].last_error or "")

        proxy.start()  # the broker is back
        delivered = 0
        for _ in range(10):
            delivered += dispatcher.run_once().delivered
            if delivered == 5:
                break
            clock.advance(3600)
        assert delivered == 5
    finally:
        dispatcher.close()
        proxy.stop()
    messages = queue.drain()
    assert sorted(props.message_id for _, props, _ in messages) == sorted(ids)  # none lost
    for subject in ("s0", "s1"):  # per subject, still in emit order
        ns = [json.loads(body)["data"]["n"] for _, _, body in messages
              if json.loads(body)["subject"] == subject]
        assert ns == sorted(ns) and ns


def test_amqp_unreachable_is_reported_without_credentials(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "amqp://guest:s3cret@127.0.0.1:9/%2F"
    monkeypatch.setenv("RISKOPS_AMQP_URL", url)
    ws = _amqp_workspace(workspace, url, tmp_path)
    emit_now(ws, type="model_bias_alert", subject="fraud", data={})
    assert Dispatcher(ws).run_once().retried == 1
    with db.read_session(ws.database_url) as s:
        error = s.scalars(select(EventDeliveryRow.last_error)).one()
    assert error and "127.0.0.1:9" in error and "s3cret" not in error
