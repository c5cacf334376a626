"""`riskops worker`: consume job triggers from RabbitMQ and run them.

One message at a time (``basic_qos(prefetch_count=1)``), acknowledged only
after its run is recorded, so a worker that dies mid-job leaves the message
unacknowledged and the broker hands it to the next worker (at least once).
The job runs on a helper thread while the main thread keeps the connection's
heartbeats going, so long jobs do not get the connection dropped.

Per message, by what the ``job_runs`` row of its id (``message_id``) says:

- no row: start a run; ``queued`` (put there by a scheduler): start it;
- ``succeeded``/``failed``: a second copy, acknowledged without running;
- ``running`` and redelivered: its worker died; start again, unless it has
  already been started ``max_attempts`` times, then dead-letter it;
- ``running`` and not redelivered: another copy is running elsewhere; skip.

A failing job is recorded ``failed`` with ``workflow.job.failed`` and
acknowledged, not retried: the next schedule or a new trigger runs it again.
Undecodable JSON, a wrong shape, an unknown job or bad metadata go to the
dead-letter queue with the reason in the ``x-riskops-reason`` header.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import pika
import pika.exceptions

from riskops.config import Workspace
from riskops.errors import InputError, Rejected
from riskops.jobs import amqp
from riskops.jobs.runner import (
    RunOutcome,
    check_metadata,
    emit_failed,
    execute,
    owner_id,
)
from riskops.jobs.settings import (
    SchedulerSettings,
    WorkerSettings,
    load_scheduler_settings,
    load_worker_settings,
)
from riskops.storage import db, job_runs

log = logging.getLogger(__name__)

MAX_TRIGGER_ID = 64
PLAIN_KEYS = ("job", "metadata")


@dataclass(frozen=True)
class Trigger:
    """A decoded trigger message."""

    job: str
    metadata: dict[str, Any]
    trigger_id: str | None


@dataclass
class WorkerStats:
    received: int = 0
    succeeded: int = 0
    failed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    outcomes: list[RunOutcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"received": self.received, "succeeded": self.succeeded, "failed": self.failed,
                "duplicates": self.duplicates, "dead_lettered": self.dead_lettered}


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def parse_trigger(body: bytes, message_id: str | None, *, jobs: Iterable[str],
                  max_bytes: int = WorkerSettings.max_message_bytes) -> Trigger:
    """Decode a trigger: ``{"job", "metadata"}`` JSON or a CloudEvents envelope of it.

    Raises
    ------
    Rejected
        With the reason, for anything the worker must not run.
    """
    if len(body) > max_bytes:
        raise Rejected(f"message is {len(body)} bytes; the limit is {max_bytes} "
                       "([worker] max_message_bytes)")
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise Rejected(f"body is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise Rejected(f"body is not JSON: {exc.msg} at position {exc.pos}") from None
    except (ValueError, RecursionError) as exc:
        raise Rejected(f"body is not strict JSON: {exc}") from None
    if not isinstance(value, dict):
        raise Rejected(f"body is a JSON {type(value).__name__}; expected an object "
                       '{"job": NAME, "metadata": {...}} or a CloudEvents envelope')
    trigger_id = message_id or None
    if "specversion" in value:
        if value.get("type") != amqp.TRIGGER_TYPE:
            raise Rejected(f"CloudEvents type {value.get('type')!r} is not "
                           f"{amqp.TRIGGER_TYPE!r}")
        data = value.get("data")
        if not isinstance(data, dict):
            raise Rejected("CloudEvents data must be an object "
                           '{"job": NAME, "metadata": {...}}')
        event_id = value.get("id")
        if trigger_id is None and isinstance(event_id, str) and event_id:
            trigger_id = event_id
        value = data
    unknown = sorted(set(value) - set(PLAIN_KEYS))
    if unknown:
        raise Rejected(f"unexpected key {unknown[0]!r}; a trigger has only 'job' and "
                       "'metadata'")
    job = value.get("job")
    if not isinstance(job, str) or not job:
        raise Rejected(f"'job' must be a job name string, got {job!r}")
    known = sorted(jobs)
    if job not in known:
        raise Rejected(f"unknown job {job!r}; known jobs are {', '.join(known)}")
    try:
        metadata = check_metadata(value.get("metadata", {}), where="'metadata'")
    except InputError as exc:
        raise Rejected(str(exc).rstrip(".")) from None
    if trigger_id is not None and len(trigger_id) > MAX_TRIGGER_ID:
        raise Rejected(f"message id is {len(trigger_id)} characters; at most "
                       f"{MAX_TRIGGER_ID} (a UUID fits)")
    return Trigger(job, metadata, trigger_id)


@dataclass(frozen=True)
class _Begin:
    action: str  # run (with run_id) | duplicate | dead (with reason)
    run_id: int | None = None
    trigger: str = "message"
    reason: str = ""


class Worker:
    """Consumes ``[worker] queue`` and runs each trigger; see the module docstring."""

    def __init__(self, ws: Workspace, *, url: str | None = None,
                 settings: WorkerSettings | None = None,
                 jobs: SchedulerSettings | None = None) -> None:
        url = url or ws.amqp_url
        if not url:
            raise InputError("the worker needs a broker: set RISKOPS_AMQP_URL or [amqp] url "
                             "in riskops.toml. Without one, 'riskops scheduler' runs jobs "
                             "in-process and 'riskops jobs run NAME' runs one now.")
        self.ws = ws
        self.url = url
        self.settings = settings or load_worker_settings(ws)
        self.jobs = jobs or load_scheduler_settings(ws)
        self.stats = WorkerStats()
        self._stop = threading.Event()
        self._inbox: list[tuple[Any, Any, bytes]] = []
        self._signals = 0

    def stop(self) -> None:
        """Finish the current job (if any), acknowledge it, then return from ``run``."""
        self._stop.set()

    def run(self, *, max_messages: int | None = None, install_signals: bool = True,
            reconnect_max_seconds: float = 30.0) -> WorkerStats:
        """Consume until stopped (SIGTERM, SIGINT, ``stop()``) or ``max_messages`` handled.

        A broker that cannot be reached at the start raises BrokerUnavailable;
        a connection lost later is re-established with backoff, and so is the
        consumer after a database error (the trigger in hand is redelivered).
        """
        previous = self._install_signals() if install_signals else {}
        try:
            backoff, connected_once = 1.0, False
            while not self._finished(max_messages):
                try:
                    self._consume(max_messages)
                    connected_once = True
                    backoff = 1.0
                except db.DatabaseError as exc:
                    # The message being handled is not acknowledged: closing the
                    # connection returns it to the queue, to be run once the database
                    # answers again (here or by another worker), not lost with the process.
                    log.warning("worker lost the database (%s); the trigger goes back to the "
                                "queue; reconnecting in %.0f s",
                                " ".join(str(exc).split())[:300], backoff)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, reconnect_max_seconds)
                except (amqp.BrokerUnavailable, pika.exceptions.AMQPError, OSError) as exc:
                    if not connected_once and self.stats.received == 0 and isinstance(
                            exc, amqp.BrokerUnavailable):
                        raise
                    connected_once = True
                    log.warning("worker lost the broker (%s); reconnecting in %.0f s",
                                amqp.describe(exc), backoff)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, reconnect_max_seconds)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return self.stats

    def _finished(self, max_messages: int | None) -> bool:
        return self._stop.is_set() or (
            max_messages is not None and self.stats.received >= max_messages)

    def _consume(self, max_messages: int | None) -> None:
        connection = amqp.connect(self.url)
        try:
            channel = connection.channel()
            amqp.declare(channel, self.settings)
            channel.basic_qos(prefetch_count=1)
            channel.confirm_delivery()
            self._inbox.clear()
            channel.basic_consume(queue=self.settings.queue, on_message_callback=self._receive,
                                  auto_ack=False)
            log.info("worker consuming %s (exchange %s, key %s)", self.settings.queue,
                     self.settings.exchange, self.settings.routing_key)
            while not self._finished(max_messages):
                connection.process_data_events(time_limit=0.5)
                while self._inbox and not self._finished(max_messages):
                    method, properties, body = self._inbox.pop(0)
                    self.stats.received += 1
                    self._handle(connection, channel, method, properties, body)
        finally:
            amqp.close_quietly(connection)

    def _receive(self, _channel: Any, method: Any, properties: Any, body: bytes) -> None:
        self._inbox.append((method, properties, body))

    def _handle(self, connection: Any, channel: Any, method: Any, properties: Any,
                body: bytes) -> None:
        tag = method.delivery_tag
        try:
            trigger = parse_trigger(body, properties.message_id, jobs=self.jobs.jobs,
                                    max_bytes=self.settings.max_message_bytes)
        except Rejected as rejected:
            self._dead_letter(channel, method, properties, body, rejected.reason)
            channel.basic_ack(tag)
            return
        begin = self._begin(trigger, redelivered=bool(method.redelivered))
        if begin.action == "duplicate":
            log.info("skipped a second copy of trigger %s (job %s)", trigger.trigger_id,
                     trigger.job)
            self.stats.duplicates += 1
            channel.basic_ack(tag)
            return
        if begin.action == "dead" or begin.run_id is None:
            self._dead_letter(channel, method, properties, body, begin.reason)
            channel.basic_ack(tag)
            return
        outcome = self._execute(connection, trigger, begin.run_id, begin.trigger)
        channel.basic_ack(tag)
        self.stats.outcomes.append(outcome)
        if outcome.status == "failed":
            log.warning("job %s (run %s) failed: %s; recorded, workflow.job.failed emitted, "
                        "not retried", outcome.job, outcome.run_id, outcome.error)
            self.stats.failed += 1
        else:
            self.stats.succeeded += 1

    def _begin(self, trigger: Trigger, *, redelivered: bool) -> _Begin:
        owner, now = owner_id(), datetime.now(UTC)
        with db.write_transaction(self.ws.database_url) as session:
            if trigger.trigger_id is None and redelivered:
                # Without an id its earlier starts cannot be counted: a job that kills its
                # worker would be redelivered and started forever.
                return _Begin("dead", reason="redelivered trigger without a message id or "
                                             "CloudEvents id; its attempts cannot be counted, "
                                             "so it is not started again (publish triggers "
                                             "with an id, as riskops jobs trigger does)")
            if trigger.trigger_id is None:
                return _Begin("run", job_runs.start_run(
                    session, job=trigger.job, trigger="message", owner=owner, now=now,
                    metadata=trigger.metadata))
            row = job_runs.run_by_trigger_id(session, trigger.trigger_id)
            if row is None:
                run_id = job_runs.start_run(
                    session, job=trigger.job, trigger="message", owner=owner, now=now,
                    metadata=trigger.metadata, trigger_id=trigger.trigger_id)
                return _Begin("run", run_id) if run_id is not None else _Begin("duplicate")
            if row.job != trigger.job:
                return _Begin("dead", reason=f"message id {trigger.trigger_id} already belongs "
                                             f"to run {row.id} of job {row.job}")
            if row.status in job_runs.FINISHED:
                return _Begin("duplicate")
            if row.status == "running" and not redelivered:
                return _Begin("duplicate")
            if row.status == "running" and row.attempts >= self.settings.max_attempts:
                reason = (f"job {row.job} was started {row.attempts} times from this message "
                          "and its worker stopped each time before it finished (killed or "
                          f"crashed); not starting it again ([worker] max_attempts = "
                          f"{self.settings.max_attempts})")
                job_runs.finish_run(session, row.id, status="failed", now=now, error=reason)
                emit_failed(session, self.ws, RunOutcome(
                    row.job, "failed", row.trigger, run_id=row.id, error=reason,
                    metadata=trigger.metadata))
                return _Begin("dead", reason=reason)
            job_runs.restart_run(session, row.id, owner=owner, now=now)
            if row.status == "running":
                log.warning("job %s (run %s): its previous worker %s stopped mid-run; "
                            "starting it again (attempt %d)", row.job, row.id, row.owner,
                            row.attempts + 1)
            return _Begin("run", row.id, trigger=row.trigger)

    def _execute(self, connection: Any, trigger: Trigger, run_id: int,
                 kind: str) -> RunOutcome:
        spec = self.jobs.spec(trigger.job)
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["outcome"] = execute(self.ws, spec, run_id, trigger.metadata,
                                         trigger=kind)
            except BaseException as exc:  # re-raised on the main thread below
                box["error"] = exc

        thread = threading.Thread(target=target, name=f"riskops-job-{spec.name}", daemon=True)
        thread.start()
        try:
            while thread.is_alive():
                # Keep heartbeats flowing; no delivery arrives (prefetch 1, unacked).
                connection.process_data_events(time_limit=0.2)
        except (pika.exceptions.AMQPError, OSError):
            # The connection broke mid-job: let the job finish and record it; the
            # message comes back and is then recognised as done.
            thread.join()
            raise
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["outcome"]  # type: ignore[no-any-return]

    def _dead_letter(self, channel: Any, method: Any, properties: Any, body: bytes,
                     reason: str) -> None:
        reason = reason[:1000]
        log.warning("dead-lettered a message from %s: %s", self.settings.queue, reason)
        headers = dict(properties.headers or {})
        headers.update({amqp.REASON_HEADER: reason, "x-riskops-queue": self.settings.queue,
                        "x-riskops-worker": owner_id(),
                        "x-original-exchange": method.exchange,
                        "x-original-routing-key": method.routing_key})
        channel.basic_publish(
            exchange=self.settings.dead_letter_exchange, routing_key=method.routing_key,
            body=body,
            properties=pika.BasicProperties(
                content_type=properties.content_type, content_encoding=properties.content_encoding,
                message_id=properties.message_id, type=properties.type,
                app_id=properties.app_id, timestamp=properties.timestamp,
                delivery_mode=pika.DeliveryMode.Persistent, headers=headers))
        self.stats.dead_lettered += 1

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:
            raise KeyboardInterrupt
        log.warning("received %s: finishing the current job, then stopping (send it again to "
                    "stop now; an unfinished job's message is then redelivered)",
                    signal.Signals(signum).name)
        self._stop.set()

