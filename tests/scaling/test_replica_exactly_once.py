"""Exactly once where it matters, with three replicas competing for the same work.

* Each event is delivered once to RabbitMQ although every replica's server runs a
  dispatcher over the one outbox.
* The automatic rollback (three critical labels) fires once although the labels
  arrive through three different replicas at the same moment.
* Each cron slot runs once with three schedulers polling, and the slot after the
  replica that ran the last one is killed (kill -9) still runs, once, elsewhere.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import httpx
import pika
import pytest
from replica_harness import Cluster
from scaling_helpers import fleet, fraud_row  # noqa: F401
from scaling_jobs import runs_file
from sqlalchemy import text

from riskops.storage import db

pytestmark = [pytest.mark.replicas, pytest.mark.postgres, pytest.mark.slow]

FLEET_CONFIG = """
tick = { target = "scaling_jobs:record_run", cron = "* * * * *" }
"""


@pytest.fixture(scope="module")
def listener(fleet: Cluster):  # type: ignore[no-untyped-def]
    """A durable queue on the cluster's event exchange, read with basic_get."""
    connection = pika.BlockingConnection(pika.URLParameters(fleet.amqp_url))
    channel = connection.channel()
    channel.exchange_declare(exchange=fleet.events_exchange, exchange_type="topic",
                             durable=True)
    queue = f"test_scale_listen_{uuid.uuid4().hex[:8]}"
    channel.queue_declare(queue=queue, durable=True)
    # Model events, and integrity failures: a replica reading a manifest while another
    # publishes must not report one (serving.pool._publishing).
    for key in ("ml.model.#", "model_integrity_failed"):
        channel.queue_bind(queue=queue, exchange=fleet.events_exchange, routing_key=key)
    try:
        yield channel, queue
    finally:
        channel.queue_delete(queue)
        connection.close()


def _drain(channel, queue: str, *, until, seconds: float = 60.0) -> list[dict]:  # type: ignore[no-untyped-def]
    """Messages from ``queue`` until ``until(messages)`` holds and the queue stayed empty
    for two more seconds (a duplicate would show up), or ``seconds`` passed."""
    got: list[dict] = []
    deadline = time.monotonic() + seconds
    quiet_since = None
    while time.monotonic() < deadline:
        method, _props, body = channel.basic_get(queue, auto_ack=True)
        if method is not None:
            got.append(json.loads(body))
            quiet_since = None
            continue
        if until(got):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 2.0:
                break
        time.sleep(0.1)
    return got


def _post(fleet: Cluster, replica: int, path: str, role: str, body: dict,
          *, method: str = "POST") -> httpx.Response:
    return httpx.request(method, f"{fleet.replicas[replica].url}{path}", json=body,
                         headers=fleet.headers(role), timeout=60)


def _outbox_undelivered(fleet: Cluster) -> int:
    with db.read_session(fleet.database_url) as session:
        return int(session.execute(text(
            "SELECT count(*) FROM event_deliveries WHERE status <> 'delivered'")).scalar_one())


def test_each_event_reaches_the_broker_once_with_every_replica_dispatching(
        fleet: Cluster, listener) -> None:
    channel, queue = listener
    # Four promote-then-roll-back cycles, each step through the next replica: 12 events
    # (promoted, break_glass, rolled_back) in one outbox, three dispatchers draining it.
    for cycle in range(4):
        promoted = _post(fleet, cycle % 3, "/models/fraud/promote", "admin",
                         {"version": 2, "break_glass": f"replica events test {cycle}"})
        assert promoted.status_code == 200, promoted.text
        rolled = _post(fleet, (cycle + 1) % 3, "/models/fraud/rollback", "admin", {"to": 1})
        assert rolled.status_code == 200, rolled.text

    wanted = {"ml.model.promoted": 4, "ml.model.break_glass": 4, "ml.model.rolled_back": 4}

    def complete(messages: list[dict]) -> bool:
        kinds = Counter(m["type"] for m in messages)
        return all(kinds[k] >= n for k, n in wanted.items())

    messages = _drain(channel, queue, until=complete)
    unexpected = [m for m in messages if m["type"] not in wanted]
    assert Counter(m["type"] for m in messages) == wanted, unexpected
    ids = Counter(m["id"] for m in messages)
    assert max(ids.values()) == 1, [i for i, n in ids.items() if n > 1]
    assert _outbox_undelivered(fleet) == 0


def test_three_critical_labels_through_three_replicas_roll_back_once(
        fleet: Cluster, listener) -> None:
    channel, queue = listener
    promoted = _post(fleet, 0, "/models/fraud/promote", "admin",
                     {"version": 2, "break_glass": "replica rollback test"})
    assert promoted.status_code == 200, promoted.text
    target = promoted.json()["manifest_version"]
    scorer = fleet.headers("scorer")
    scored = []
    for i, replica in enumerate(fleet.replicas):
        deadline = time.monotonic() + 30
        while True:  # each replica follows the promotion within its poll interval
            answer = httpx.post(f"{replica.url}/risk/fraud", json=fraud_row(i), headers=scorer,
                                timeout=30).json()
            if answer["manifest_version"] >= target or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert answer["risk_model_version"] == 2, answer
        scored.append(answer["prediction_id"])

    answers: list[httpx.Response] = []
    barrier = threading.Barrier(3)

    def label(i: int) -> None:
        barrier.wait()
        answers.append(_post(fleet, i, "/feedback", "reviewer", {
            "prediction_id": scored[i], "label": "legit", "override": True,
            "severity": "critical", "comment": f"customer {i} wrongly blocked"}))

    threads = [threading.Thread(target=label, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 3, [a.text for a in answers]
    rollbacks = [a.json()["rollback"] for a in answers if "rollback" in a.json()]
    rolled = [r for r in rollbacks if r.get("status") == "rolled-back"]
    assert len(rolled) == 1, rollbacks

    messages = _drain(channel, queue, until=lambda ms: any(
        m["type"] == "ml.model.rolled_back" for m in ms))
    events = [m for m in messages if m["type"] == "ml.model.rolled_back"]
    assert len(events) == 1, events
    assert (events[0]["data"]["fromVersion"], events[0]["data"]["toVersion"]) == (2, 1)
    with db.read_session(fleet.database_url) as session:
        incidents = session.execute(text("SELECT count(*) FROM incidents")).scalar_one()
        firings = session.execute(text("SELECT count(*) FROM rule_firings")).scalar_one()
    assert (incidents, firings) == (1, 1)
    for replica in fleet.replicas:  # and every replica follows the rollback
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = httpx.get(f"{replica.url}/ready", timeout=10).json()
            if ready["models"]["fraud"]["production"] == 1:
                break
            time.sleep(0.1)
        assert ready["models"]["fraud"]["production"] == 1, ready


def _tick_runs(fleet: Cluster) -> list[tuple[datetime, str, str]]:
    with db.read_session(fleet.database_url) as session:
        rows = session.execute(text(
            "SELECT scheduled_for, status, owner FROM job_runs WHERE job = 'tick' "
            "ORDER BY scheduled_for")).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _body_runs(fleet: Cluster) -> list[dict]:
    path = runs_file(fleet.home)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_for_runs(fleet: Cluster, count: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runs = _tick_runs(fleet)
        if len(runs) >= count and all(r[1] == "succeeded" for r in runs) \
                and len(_body_runs(fleet)) >= count:
            return
        time.sleep(0.2)
    pytest.fail(f"wanted {count} finished runs of tick within {seconds:g} s; job_runs: "
                f"{_tick_runs(fleet)}\n{fleet.logs()}")


def _next_minute_in() -> float:
    now = datetime.now(UTC)
    return 60 - now.second - now.microsecond / 1e6


def test_each_cron_slot_runs_once_and_another_replica_takes_over_after_kill_9(
        fleet: Cluster) -> None:
    # The first start: the newest due slot of a job that never ran (one run), then the
    # next minute's slot, with three schedulers polling every 0.2 s.
    _wait_for_runs(fleet, 1, seconds=60)
    _wait_for_runs(fleet, 2, seconds=_next_minute_in() + 45)
    workers = {r.processes["worker"].popen.pid: r for r in fleet.replicas}
    last = _body_runs(fleet)[-1]
    victim = workers[last["pid"]]
    victim.kill()
    survivors = {r.processes["worker"].popen.pid for r in fleet.replicas if r is not victim}

    _wait_for_runs(fleet, 3, seconds=_next_minute_in() + 45)
    time.sleep(1.0)  # a second run of the same slot would land now
    runs = _tick_runs(fleet)
    bodies = _body_runs(fleet)
    slots = [r[0] for r in runs]
    assert len(slots) == len(set(slots)), runs
    assert len(bodies) == len(runs), (bodies, runs)
    assert bodies[-1]["pid"] in survivors, (bodies[-1], survivors)
    assert all(status == "succeeded" for _, status, _ in runs), runs
