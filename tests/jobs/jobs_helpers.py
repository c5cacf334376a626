"""Helpers for the jobs tests: test jobs, config, a settable clock, and the RabbitMQ
fixture (skips with the reason when no broker answers, fails under CI).

The test jobs are plain functions here; workspaces reach them through
``[scheduler.jobs] NAME = { target = "jobs_helpers:FUNCTION" }``, so a
``riskops worker`` subprocess finds them too (with this folder on PYTHONPATH).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from riskops.config import Workspace, open_workspace

# Subprocess jobs import this module, so it cannot import conftest; same default.
AMQP_URL = os.environ.get("RISKOPS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")

HERE = Path(__file__).parent

# --- test jobs ------------------------------------------------------------------------

CALLS: list[dict[str, Any]] = []
_CALLS_LOCK = threading.Lock()


def record_job(ws: Workspace, metadata: dict[str, Any]) -> dict[str, Any]:
    """Append the call to CALLS (and to metadata["log"] if given); return the metadata."""
    with _CALLS_LOCK:
        CALLS.append({"home": str(ws.home), "metadata": metadata, "thread": threading.get_ident()})
    if "log" in metadata:
        with open(metadata["log"], "a", encoding="utf-8") as f:
            f.write(json.dumps({"pid": os.getpid(), "metadata": metadata}) + "\n")
    if "sleep" in metadata:
        time.sleep(float(metadata["sleep"]))
    return {"echo": metadata}


def failing_job(ws: Workspace, metadata: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError(f"disk full while exporting {metadata.get('what', 'everything')}")


def blocking_job(ws: Workspace, metadata: dict[str, Any]) -> dict[str, Any]:
    """Log a start line with the pid to metadata["log"], then wait for metadata["release"]."""
    with open(metadata["log"], "a", encoding="utf-8") as f:
        f.write(json.dumps({"pid": os.getpid(), "event": "start"}) + "\n")
    release = Path(metadata["release"])
    deadline = time.monotonic() + 60
    while not release.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("never released")
        time.sleep(0.05)
    return {"released": True, "pid": os.getpid()}


def calls_for(ws: Workspace) -> list[dict[str, Any]]:
    return [c for c in CALLS if c["home"] == str(ws.home)]


# --- config and clock -----------------------------------------------------------------

TEST_JOBS = """
[scheduler.jobs]
record = { target = "jobs_helpers:record_job", cron = "off" }
fail = { target = "jobs_helpers:failing_job", cron = "off" }
block = { target = "jobs_helpers:blocking_job", cron = "off" }
"""


def configure(ws: Workspace, text: str) -> Workspace:
    """Append TOML ``text`` to the workspace config; reopen the workspace."""
    with ws.config_path.open("a", encoding="utf-8") as f:
        f.write("\n" + text.strip() + "\n")
    return open_workspace(ws.home)


def with_test_jobs(ws: Workspace, extra_jobs: str = "", scheduler: str = "") -> Workspace:
    """Register the test jobs in ``[scheduler.jobs]`` (plus ``extra_jobs`` lines)."""
    head = f"[scheduler]\n{scheduler.strip()}\n" if scheduler.strip() else ""
    return configure(ws, head + TEST_JOBS + extra_jobs)


class Clock:
    """A clock tests set by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def set(self, now: datetime) -> None:
        with self._lock:
            self.now = now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.now += timedelta(**delta)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- RabbitMQ -------------------------------------------------------------------------


@pytest.fixture
def broker_ws(workspace: Workspace, amqp_url: str,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A SQLite workspace with the broker configured and its own exchange and queues
    (deleted afterwards), so tests never share a queue. Add jobs with ``scheduled_ws``."""
    tag = uuid.uuid4().hex[:10]
    monkeypatch.setenv("RISKOPS_AMQP_URL", amqp_url)
    ws = configure(workspace, f"""
[worker]
exchange = "riskops.test.{tag}"
queue = "test_jobs_{tag}"
[events]
sinks = ["log"]
""")
    yield ws
    _delete_topology(amqp_url, tag)


def _delete_topology(url: str, tag: str) -> None:
    import pika

    try:
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        for queue in (f"test_jobs_{tag}", f"test_jobs_{tag}.dead"):
            channel.queue_delete(queue=queue)
        for exchange in (f"riskops.test.{tag}", f"test_jobs_{tag}.dead"):
            channel.exchange_delete(exchange=exchange)
        connection.close()
    except Exception:  # cleanup only; the broker may already be gone
        pass


def publish_raw(ws: Workspace, body: bytes, *, message_id: str | None = None) -> None:
    """Publish ``body`` as is to the workspace's trigger exchange and key."""
    import pika

    from riskops.jobs import amqp
    from riskops.jobs.settings import load_worker_settings

    settings = load_worker_settings(ws)
    connection = amqp.connect(ws.amqp_url or AMQP_URL)
    try:
        channel = connection.channel()
        amqp.declare(channel, settings)
        channel.confirm_delivery()
        channel.basic_publish(settings.exchange, settings.routing_key, body,
                              pika.BasicProperties(delivery_mode=2, message_id=message_id))
    finally:
        connection.close()


def get_all(ws: Workspace, queue: str) -> list[tuple[Any, bytes]]:
    """Every message now in ``queue`` as (properties, body), acknowledged (removed)."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(ws.amqp_url or AMQP_URL))
    found = []
    try:
        channel = connection.channel()
        while True:
            method, properties, body = channel.basic_get(queue=queue, auto_ack=True)
            if method is None:
                return found
            found.append((properties, body))
    finally:
        connection.close()


def queue_depth(ws: Workspace, queue: str) -> int:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(ws.amqp_url or AMQP_URL))
    try:
        return int(connection.channel().queue_declare(queue=queue, passive=True)
                   .method.message_count)
    finally:
        connection.close()


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


BUILTINS_OFF = """
model-monitoring = "off"
integrity-check = "off"
lake-export = "off"
events-dispatch = "off"
revalidation-check = "off"
slo-watch = "off"
retrain-triggers = "off"
"""


TARGETS = {"record": "record_job", "fail": "failing_job", "block": "blocking_job"}


def scheduled_ws(ws: Workspace, **crons: str) -> Workspace:
    """The test jobs with the given schedules (``record="0 * * * *"``), built-ins off."""
    lines = [f'{name} = {{ target = "jobs_helpers:{target}", cron = "{crons.get(name, "off")}" }}'
             for name, target in TARGETS.items()]
    return configure(ws, "[scheduler.jobs]\n" + "\n".join(lines) + BUILTINS_OFF)
