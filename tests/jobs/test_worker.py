"""The RabbitMQ worker: triggers run, copies run once, bad messages are dead-lettered,
a killed worker's message is redelivered, the scheduler queues to the workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from jobs_helpers import (
    HERE,
    Clock,
    broker_ws,  # noqa: F401
    calls_for,
    get_all,
    publish_raw,
    queue_depth,
    scheduled_ws,
    utc,
    wait_for,
)
from sqlalchemy import select

from riskops.config import Workspace
from riskops.jobs import amqp
from riskops.jobs.scheduler import Scheduler
from riskops.jobs.settings import load_worker_settings
from riskops.jobs.worker import Rejected, Worker, parse_trigger
from riskops.storage import db
from riskops.storage.tables import JobRunRow, OutboxEventRow

JOBS = ["record", "fail"]


def runs(ws: Workspace) -> list[JobRunRow]:
    with db.read_session(ws.database_url) as session:
        return list(session.scalars(select(JobRunRow).order_by(JobRunRow.id)))


# --- decoding (no broker) -------------------------------------------------------------


def test_plain_and_cloudevents_triggers_decode_alike() -> None:
    plain = parse_trigger(b'{"job": "record", "metadata": {"a": 1}}', "m-1", jobs=JOBS)
    assert (plain.job, plain.metadata, plain.trigger_id) == ("record", {"a": 1}, "m-1")
    envelope = {"specversion": "1.0", "id": "ev-1", "source": "/x",
                "type": "workflow.job.trigger", "data": {"job": "record"}}
    event = parse_trigger(json.dumps(envelope).encode(), None, jobs=JOBS)
    assert (event.job, event.metadata, event.trigger_id) == ("record", {}, "ev-1")


@pytest.mark.parametrize(("body", "reason"), [
    (b"{not json", "body is not JSON: Expecting property name"),
    (b"\xff\xfe", "body is not UTF-8 text"),
    (b"[1, 2]", "body is a JSON list; expected an object"),
    (b'{"job": "nope"}', "unknown job 'nope'; known jobs are fail, record"),
    (b'{"job": 7}', "'job' must be a job name string, got 7"),
    (b'{"job": "record", "metdata": {}}', "unexpected key 'metdata'"),
    (b'{"job": "record", "metadata": [1]}', "'metadata' must be a JSON object, not an array"),
    (b'{"job": "record", "metadata": {"x": NaN}}', "not strict JSON"),
    (b'{"specversion": "1.0", "type": "ml.model.promoted", "data": {}}',
     "CloudEvents type 'ml.model.promoted' is not 'workflow.job.trigger'"),
    (b'{"job": "record", "metadata": {"x": "' + b"a" * 2000 + b'"}}',
     "message is 20.. bytes; the limit is 1024"),
])
def test_bad_messages_are_rejected_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(Rejected, match=reason):
        parse_trigger(body, None, jobs=JOBS, max_bytes=1024)


def test_worker_needs_a_broker(workspace: Workspace) -> None:
    from riskops.errors import InputError

    with pytest.raises(InputError, match="the worker needs a broker: set RISKOPS_AMQP_URL"):
        Worker(workspace)


# --- against RabbitMQ -----------------------------------------------------------------


def test_trigger_is_run_by_the_worker(broker_ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    ws = scheduled_ws(broker_ws)
    result = cli("jobs", "trigger", "record", "--metadata", '{"tenant": "acme"}', "--json")
    assert result.code == 0, result.err
    queued = result.json()
    assert queued["mode"] == "queued" and queued["recorded"] is True
    stats = Worker(ws).run(max_messages=1, install_signals=False)
    assert stats.succeeded == 1
    assert [c["metadata"] for c in calls_for(ws)] == [{"tenant": "acme"}]
    (row,) = runs(ws)
    assert (row.trigger, row.trigger_id, row.status) == ("message", queued["trigger_id"],
                                                         "succeeded")
    with db.read_session(ws.database_url) as session:
        (event,) = session.scalars(select(OutboxEventRow).where(
            OutboxEventRow.type == "workflow.job.trigger"))
    assert event.id == queued["trigger_id"]  # the outbox copy would be recognised as done
    assert queue_depth(ws, load_worker_settings(ws).queue) == 0


def test_second_copy_of_a_trigger_runs_once(broker_ws: Workspace) -> None:
    ws = scheduled_ws(broker_ws)
    envelope = amqp.trigger_envelope("record", {"n": 1})
    body = json.dumps(envelope).encode()
    publish_raw(ws, body, message_id=envelope["id"])
    publish_raw(ws, body, message_id=envelope["id"])  # e.g. the outbox's delivery of it
    stats = Worker(ws).run(max_messages=2, install_signals=False)
    assert (stats.succeeded, stats.duplicates) == (1, 1)
    assert len(calls_for(ws)) == 1


def test_bad_messages_are_dead_lettered_and_the_worker_goes_on(broker_ws: Workspace) -> None:
    ws = scheduled_ws(broker_ws)
    for body in (b"{oops", b"[1]", b'{"job": "nope"}', b'{"job": "record", "metadata": 5}',
                 b'{"job": "record", "metadata": {"good": true}}'):
        publish_raw(ws, body)
    stats = Worker(ws).run(max_messages=5, install_signals=False)
    assert (stats.dead_lettered, stats.succeeded) == (4, 1)
    assert [c["metadata"] for c in calls_for(ws)] == [{"good": True}]
    settings = load_worker_settings(ws)
    dead = get_all(ws, settings.dead_letter_queue)
    reasons = [p.headers[amqp.REASON_HEADER] for p, _ in dead]
    assert [b for _, b in dead] == [b"{oops", b"[1]", b'{"job": "nope"}',
                                    b'{"job": "record", "metadata": 5}']
    assert reasons[0].startswith("body is not JSON")
    assert reasons[1].startswith("body is a JSON list")
    assert reasons[2].startswith("unknown job 'nope'; known jobs are")
    assert reasons[3].startswith("'metadata' must be a JSON object, not a number")
    assert all(p.headers["x-riskops-queue"] == settings.queue for p, _ in dead)
    assert queue_depth(ws, settings.queue) == 0


def test_failed_job_is_recorded_reported_and_not_retried(broker_ws: Workspace) -> None:
    ws = scheduled_ws(broker_ws)
    publish_raw(ws, b'{"job": "fail", "metadata": {"what": "lake"}}')
    stats = Worker(ws).run(max_messages=1, install_signals=False)
    assert stats.failed == 1
    (row,) = runs(ws)
    assert (row.status, row.error) == ("failed", "RuntimeError: disk full while exporting lake")
    with db.read_session(ws.database_url) as session:
        (event,) = session.scalars(select(OutboxEventRow).where(
            OutboxEventRow.type == "workflow.job.failed"))
    assert json.loads(event.envelope)["data"]["metadata"] == {"what": "lake"}
    settings = load_worker_settings(ws)
    assert queue_depth(ws, settings.queue) == 0 and queue_depth(ws, settings.dead_letter_queue) == 0


def test_scheduler_with_a_broker_queues_the_slot_for_the_worker(broker_ws: Workspace) -> None:
    ws = scheduled_ws(broker_ws, record="0 * * * *")
    (result,) = Scheduler(ws, clock=Clock(utc(2026, 3, 2, 10, 5))).tick()
    assert result.action == "queued"
    (row,) = runs(ws)
    assert (row.status, row.attempts, row.trigger) == ("queued", 0, "schedule")
    stats = Worker(ws).run(max_messages=1, install_signals=False)
    assert stats.succeeded == 1
    (row,) = runs(ws)
    assert (row.status, row.attempts, row.trigger) == ("succeeded", 1, "schedule")
    assert row.scheduled_for == utc(2026, 3, 2, 10)


def _worker(ws: Workspace) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(HERE), "RISKOPS_HOME": str(ws.home)}
    return subprocess.Popen([str(Path(sys.executable).parent / "riskops"), "worker"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _starts(log: Path) -> list[int]:
    if not log.exists():
        return []
    return [json.loads(line)["pid"] for line in log.read_text().splitlines()]


@pytest.mark.slow
def test_killed_worker_message_is_redelivered_and_run_again(
    broker_ws: Workspace, tmp_path: Path, cli,  # type: ignore[no-untyped-def]
) -> None:
    ws = scheduled_ws(broker_ws)
    log, release = tmp_path / "starts.jsonl", tmp_path / f"release-{uuid.uuid4().hex}"
    first = _worker(ws)
    try:
        result = cli("jobs", "trigger", "block", "--metadata",
                     json.dumps({"log": str(log), "release": str(release)}))
        assert result.code == 0, result.err
        wait_for(lambda: _starts(log) == [first.pid], timeout=60)
    finally:
        first.kill()  # SIGKILL mid-job: no ack, no cleanup
        first.wait(timeout=30)
    second = _worker(ws)
    try:
        wait_for(lambda: _starts(log) == [first.pid, second.pid], timeout=60)
        release.touch()
        wait_for(lambda: runs(ws) and runs(ws)[0].status == "succeeded", timeout=30)
        (row,) = runs(ws)
        assert row.attempts == 2 and row.owner.endswith(f":{second.pid}")
        assert json.loads(row.result or "") == {"released": True, "pid": second.pid}
        second.send_signal(signal.SIGTERM)  # graceful: idle, so it stops at once
        assert second.wait(timeout=30) == 0
    finally:
        if second.poll() is None:
            second.kill()
    assert queue_depth(ws, load_worker_settings(ws).queue) == 0


def test_message_that_keeps_killing_its_worker_is_dead_lettered(broker_ws: Workspace) -> None:
    import pika

    from riskops.jobs.runner import owner_id
    from riskops.storage import job_runs

    ws = scheduled_ws(broker_ws)
    settings = load_worker_settings(ws)
    envelope = amqp.trigger_envelope("record", {})
    publish_raw(ws, json.dumps(envelope).encode(), message_id=envelope["id"])
    # Three workers started it and died: the row says running, attempt 3.
    with db.write_transaction(ws.database_url) as session:
        run_id = job_runs.start_run(session, job="record", trigger="message", owner="gone:1",
                                    now=utc(2026, 1, 1), metadata={}, trigger_id=envelope["id"])
        assert run_id is not None
        for _ in range(2):
            job_runs.restart_run(session, run_id, owner=owner_id(), now=utc(2026, 1, 1))
    # Take the message without acknowledging it and drop the connection: redelivered.
    connection = pika.BlockingConnection(pika.URLParameters(ws.amqp_url or ""))
    method, _, _ = connection.channel().basic_get(settings.queue, auto_ack=False)
    assert method is not None
    connection.close()
    stats = Worker(ws).run(max_messages=1, install_signals=False)
    assert stats.dead_lettered == 1 and calls_for(ws) == []
    (dead,) = get_all(ws, settings.dead_letter_queue)
    assert "was started 3 times from this message" in dead[0].headers[amqp.REASON_HEADER]
    (row,) = runs(ws)
    assert row.status == "failed" and "max_attempts = 3" in (row.error or "")


def test_a_redelivered_trigger_without_an_id_is_not_started_again(workspace: Workspace) -> None:
    from riskops.jobs.worker import Trigger, Worker

    worker = Worker(workspace, url="amqp://guest:guest@127.0.0.1:5672/%2F")
    trigger = Trigger("integrity-check", {}, None)
    assert worker._begin(trigger, redelivered=False).action == "run"
    again = worker._begin(trigger, redelivered=True)
    assert again.action == "dead" and "without a message id" in again.reason


def test_a_database_outage_returns_the_trigger_to_the_queue_and_the_worker_goes_on(
        broker_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    ws = scheduled_ws(broker_ws)
    real_begin = Worker._begin
    calls = []

    def begin(self, trigger, *, redelivered):  # type: ignore[no-untyped-def]
        calls.append(redelivered)
        if len(calls) == 1:  # the database is down when the first copy arrives
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return real_begin(self, trigger, redelivered=redelivered)

    monkeypatch.setattr(Worker, "_begin", begin)
    envelope = amqp.trigger_envelope("record", {"n": 1})
    publish_raw(ws, json.dumps(envelope).encode(), message_id=envelope["id"])
    stats = Worker(ws).run(max_messages=2, install_signals=False)
    assert calls == [False, True]
    assert stats.succeeded == 1
    assert [c["metadata"] for c in calls_for(ws)] == [{"n": 1}]
    assert [r.status for r in runs(ws)] == ["succeeded"]
