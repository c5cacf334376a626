"""Fault: RabbitMQ stops (``rabbitmqctl stop_app``) under three running replicas.

While the broker is down, governed changes go through the replicas' HTTP API (a
break-glass promotion, a rollback, a promotion again, through different
replicas). Observed (and pinned here): each change answers 200 (events are
stored in the outbox in the change's transaction, never sent inline); their
``amqp`` deliveries wait in the outbox as ``pending`` with attempts counted, the
broker's error and a next attempt; the ``log`` sink delivers at once. The
scheduler and worker processes stay up. Once the broker is back, the three
serving replicas' dispatchers (competing for the same rows) deliver every
waiting event, and a durable queue bound to the cluster's exchange before the
outage holds each event id exactly once; the worker reconnects and runs a
triggered job.

The outage is kept short (the broker is shared by this machine): at most
``OUTAGE_SECONDS``, the broker is started again in a ``finally``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import pika
import pytest
from fault_helpers import events_of, outbox_rows, post, riskops
from replica_harness import Cluster, cluster, fresh_database
from scaling_helpers import BUILTINS_OFF

pytestmark = [pytest.mark.replicas, pytest.mark.postgres, pytest.mark.slow]

OUTAGE_SECONDS = 15.0
#: Small retry delays so that the waiting events go out within seconds of the broker's
#: return; enough attempts that a 15 s outage dead-letters nothing.
EVENTS_CONFIG = """backoff_base_seconds = 0.5
backoff_max_seconds = 2
max_attempts = 40
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """``scaling_helpers.fleet``, with short event retry delays in ``[events]``."""
    from conftest import (
        AMQP_URL,
        POSTGRES_URL,
        amqp_unavailable,
        postgres_available,
        require_service,
    )

    require_service("PostgreSQL", POSTGRES_URL, postgres_available())
    require_service("RabbitMQ", AMQP_URL, amqp_unavailable(AMQP_URL))
    root = tmp_path_factory.mktemp("fleet")
    with fresh_database(POSTGRES_URL) as url, \
            cluster(root, url, AMQP_URL, extra_config=BUILTINS_OFF) as made:
        config = made.home / "riskops.toml"
        text = config.read_text()
        anchor = "amqp_timeout_seconds = 2\n"
        if anchor not in text:
            pytest.fail(f"{config} has no [events] line {anchor!r} to add to")
        config.write_text(text.replace(anchor, anchor + EVENTS_CONFIG, 1))
        made.start(3, scheduler=True, worker=True)
        yield made


def _broker(*args: str) -> None:
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        pytest.fail(f"rabbitmqctl {' '.join(args)} exited {done.returncode}: {done.stderr}")


def _wait_for_amqp(url: str, seconds: float = 60.0) -> float:
    """Wait until the broker accepts an AMQP connection; how long that took."""
    started = time.monotonic()
    deadline = started + seconds
    while True:
        with suppress(OSError):
            socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
            with suppress(Exception):
                params = pika.URLParameters(url)
                params.socket_timeout = 3
                params.connection_attempts = 1
                pika.BlockingConnection(params).close()
                return time.monotonic() - started
        if time.monotonic() > deadline:
            pytest.fail(f"RabbitMQ did not accept AMQP within {seconds:g} s")
        time.sleep(0.25)


def _channel(url: str) -> tuple[Any, Any]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    return connection, connection.channel()


def _drain(url: str, queue: str) -> list[str]:
    """Every message id in ``queue`` (acknowledged, so the queue ends empty)."""
    connection, channel = _channel(url)
    ids = []
    try:
        while True:
            method, properties, _ = channel.basic_get(queue, auto_ack=True)
            if method is None:
                break
            ids.append(properties.message_id)
    finally:
        connection.close()
    return ids


def _deliveries(fleet: Cluster, since_seq: int) -> list[Any]:
    return outbox_rows(
        fleet, "SELECT o.seq, o.id, o.type, d.sink, d.status, d.attempts, "
               "d.next_attempt_at, d.last_error FROM event_outbox o "
               "JOIN event_deliveries d ON d.event_seq = o.seq "
               "WHERE o.seq > :since ORDER BY o.seq, d.sink", since=since_seq)


def _newest_seq(fleet: Cluster) -> int:
    return int(outbox_rows(fleet, "SELECT coalesce(max(seq), 0) FROM event_outbox")[0][0])


def _wait_delivered(fleet: Cluster, since_seq: int, seconds: float) -> float:
    started = time.monotonic()
    while True:
        rows = [r for r in _deliveries(fleet, since_seq) if r.sink == "amqp"]
        if rows and all(r.status == "delivered" for r in rows):
            return time.monotonic() - started
        if time.monotonic() - started > seconds:
            pytest.fail(f"amqp deliveries not all delivered after {seconds:g} s: "
                        f"{[(r.type, r.status, r.attempts, r.last_error) for r in rows]}\n"
                        f"{fleet.logs()}")
        time.sleep(0.25)


def test_governed_changes_go_ahead_while_the_broker_is_down_and_arrive_once(
        fleet: Cluster) -> None:
    queue = f"fault_broker_{fleet.tag}"
    connection, channel = _channel(fleet.amqp_url)
    channel.exchange_declare(exchange=fleet.events_exchange, exchange_type="topic",
                             durable=True)
    channel.queue_declare(queue=queue, durable=True)  # survives stop_app / start_app
    channel.queue_bind(queue=queue, exchange=fleet.events_exchange, routing_key="ml.#")
    connection.close()
    try:
        _outage_and_recovery(fleet, queue)
    finally:
        with suppress(Exception):
            connection, channel = _channel(fleet.amqp_url)
            channel.queue_delete(queue)
            connection.close()


def _integrity_problems(fleet: Cluster) -> list[str]:
    return [json.loads(e.envelope)["data"]["problem"]
            for e in events_of(fleet, "model_integrity_failed")]


def _outage_and_recovery(fleet: Cluster, queue: str) -> None:
    # Before: one change delivered, so every dispatcher has a broker connection to lose.
    start_seq = _newest_seq(fleet)
    promoted = post(fleet, 0, "/models/fraud/promote", "admin",
                    {"version": 2, "break_glass": "broker fault drill: before"})
    assert promoted.status_code == 200, promoted.text
    _wait_delivered(fleet, start_seq, 60)
    outage_seq = _newest_seq(fleet)

    stopped_at = time.monotonic()
    _broker("stop_app")
    down_for = None
    try:
        print(f"rabbitmqctl stop_app took {time.monotonic() - stopped_at:.2f} s")
        answers = []
        for replica, role, path, body in (
                (1, "platform_owner", "/models/fraud/rollback", {"to": 1}),
                (2, "admin", "/models/fraud/promote",
                 {"version": 2, "break_glass": "broker fault drill: during"}),
                (0, "platform_owner", "/models/fraud/rollback", {"to": 1})):
            started = time.monotonic()
            response = post(fleet, replica, path, role, body)
            answers.append((path, response.status_code, round(time.monotonic() - started, 2)))
            assert response.status_code == 200, response.text
        print("changes during the outage (path, status, seconds):", answers)
        time.sleep(max(0.0, min(6.0, OUTAGE_SECONDS - 4 - (time.monotonic() - stopped_at))))
        waiting = _deliveries(fleet, outage_seq)
        amqp = [r for r in waiting if r.sink == "amqp"]
        print("model_integrity_failed:", _integrity_problems(fleet))
        print("outbox during the outage:",
              [(r.type, r.sink, r.status, r.attempts, str(r.next_attempt_at)[11:23],
                (r.last_error or "")[:80]) for r in waiting])
        # rolled_back, promoted + break_glass, rolled_back; nothing else (no replica
        # may take a publish in progress for an integrity failure).
        assert [r.type for r in amqp] == ["ml.model.rolled_back", "ml.model.break_glass",
                                          "ml.model.promoted", "ml.model.rolled_back"], [
            (r.type, r.id) for r in amqp]
        assert {r.status for r in amqp} == {"pending"}
        # The first of the subject is being retried; the later ones wait behind it.
        assert amqp[0].attempts >= 1 and amqp[0].last_error, amqp[0]
        assert {r.status for r in waiting if r.sink == "log"} == {"delivered"}
        alive = {f"{r.index}/{p.name}": p.alive for r in fleet.replicas
                 for p in r.processes.values()}
        assert all(alive.values()), (alive, fleet.logs())
    finally:
        _broker("start_app")
        back = _wait_for_amqp(fleet.amqp_url)
        down_for = time.monotonic() - stopped_at
        print(f"broker down for {down_for:.1f} s (AMQP accepted {back:.1f} s after start_app)")
    delivered_in = _wait_delivered(fleet, outage_seq, 90)
    print(f"every waiting event delivered {delivered_in:.1f} s after the broker came back")
    rows = _deliveries(fleet, start_seq)
    expected = {r.id for r in rows if r.sink == "amqp"}
    print("attempts per amqp delivery:", [(r.type, r.attempts) for r in rows
                                           if r.sink == "amqp"])
    time.sleep(2.0)  # a late duplicate would have arrived by now
    received = _drain(fleet.amqp_url, queue)
    ours = [i for i in received if i in expected]
    counts = {i: ours.count(i) for i in set(ours)}
    assert set(ours) == expected, (expected - set(ours), set(ours) - expected)
    assert all(c == 1 for c in counts.values()), counts

    # Every process of every replica is still up, and the worker took up its queue again.
    alive = {f"{r.index}/{p.name}": p.alive for r in fleet.replicas
             for p in r.processes.values()}
    assert all(alive.values()), (alive, fleet.logs())
    triggered = riskops(fleet, "jobs", "trigger", "integrity-check", role="admin")
    assert triggered.returncode == 0, triggered.stderr
    deadline = time.monotonic() + 90
    while True:
        history = json.loads(riskops(fleet, "jobs", "history", "--job", "integrity-check",
                                     "--json").stdout)
        done = [h for h in history if h["trigger"] != "manual" and h["status"] == "succeeded"]
        if done:
            print("job triggered after the outage:", done[0]["trigger"], done[0]["status"])
            break
        if time.monotonic() > deadline:
            pytest.fail(f"no worker ran the triggered job: {history}\n{fleet.logs()}")
        time.sleep(2)
