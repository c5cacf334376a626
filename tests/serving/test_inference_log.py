"""The inference log: UUIDv7 ids, records, group commit, failures, back-pressure, crashes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from serving_helpers_log import make_record, stored_count, stored_ids
from sqlalchemy import select

from riskops.config import Workspace
from riskops.errors import InferenceLogClosed, InferenceLogFull, InferenceLogWriteFailed
from riskops.serving.inference_log import (
    InferenceLog,
    write_predictions,
)
from riskops.serving.records import new_prediction_id, prediction_id_time
from riskops.storage import db
from riskops.storage.tables import PredictionRow

# --- ids and records -------------------------------------------------------------


def test_prediction_id_is_a_uuid_version_7_string() -> None:
    pid = new_prediction_id()
    parsed = uuid.UUID(pid)
    assert len(pid) == 36 and str(parsed) == pid
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


def test_prediction_ids_sort_in_creation_order() -> None:
    ids = [new_prediction_id() for _ in range(20_000)]  # many share a millisecond
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_prediction_id_carries_its_creation_millisecond() -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    pid = new_prediction_id()
    after = datetime.now(UTC) + timedelta(milliseconds=1)
    assert before <= prediction_id_time(pid) <= after


def test_prediction_ids_are_unique_across_threads() -> None:
    results: list[list[str]] = []

    def make() -> None:
        results.append([new_prediction_id() for _ in range(5_000)])

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [pid for chunk in results for pid in chunk]
    assert len(set(every)) == 40_000
    assert all(chunk == sorted(chunk) for chunk in results)


def test_record_rejects_a_naive_created_at() -> None:
    with pytest.raises(ValueError, match=r"created_at .* is naive; pass an aware datetime"):
        make_record(created_at=datetime(2026, 3, 1, 12, 0))


def test_record_row_encodes_inputs_and_reasons_as_json() -> None:
    record = make_record(inputs={"amount": np.float64(2.5), "n": np.int64(3), "ok": np.bool_(1)},
                         reasons=["a", "b"])
    row = record.to_row()
    assert json.loads(row["inputs"]) == {"amount": 2.5, "n": 3, "ok": True}
    assert json.loads(row["reasons"]) == ["a", "b"]
    assert row["created_at"] is record.created_at


def test_record_row_names_the_prediction_with_unencodable_inputs() -> None:
    record = make_record(id="p-1", inputs={"blob": object()})
    with pytest.raises(TypeError, match="prediction p-1: inputs or reasons are not JSON"):
        record.to_row()
    with pytest.raises(TypeError, match="not JSON"):
        make_record(inputs={"x": float("nan")}).to_row()


# --- group commit ----------------------------------------------------------------


@pytest.fixture
def started(workspace: Workspace):  # type: ignore[no-untyped-def]
    logs: list[InferenceLog] = []

    def make(**options: float) -> InferenceLog:
        log = InferenceLog(workspace.database_url, **options)  # type: ignore[arg-type]
        log.start()
        logs.append(log)
        return log

    yield make
    for log in logs:
        log.close()


def _many_threads(log: InferenceLog, *, threads: int, each: int) -> list[tuple[str, Future[None]]]:
    submitted: list[tuple[str, Future[None]]] = []
    lock = threading.Lock()

    def produce() -> None:
        for _ in range(each):
            record = make_record()
            future = log.submit(record)
            with lock:
                submitted.append((record.id, future))

    workers = [threading.Thread(target=produce) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return submitted


def test_group_commit_writes_every_record_exactly_once(workspace: Workspace, started) -> None:
    log = started(max_batch=64)
    submitted = _many_threads(log, threads=16, each=150)
    for _, future in submitted:
        assert future.result(timeout=30) is None
    ids = stored_ids(workspace.database_url)
    assert sorted(ids) == sorted(pid for pid, _ in submitted)
    stats = log.stats()
    assert stats["committed"] == 2400 and stats["failed"] == 0
    assert stats["batches"] < 2400  # records shared transactions
    assert stats["largest_batch"] <= 64


def test_stored_row_round_trips_every_field(workspace: Workspace, started) -> None:
    log = started()
    record = make_record(model_name=None, model_version=None, threshold=None, method="heuristic",
                         route="heuristic", reasons=[], inputs={"text": "disk full ✓"})
    log.submit(record).result(timeout=10)
    with db.read_session(workspace.database_url) as session:
        row = session.execute(select(PredictionRow)).scalar_one()
    assert row.id == record.id and row.created_at == record.created_at
    assert (row.method, row.route, row.model_name, row.model_version, row.threshold) == \
        ("heuristic", "heuristic", None, None, None)
    assert json.loads(row.inputs) == {"text": "disk full ✓"}
    assert json.loads(row.reasons) == []
    assert (row.score, row.label, row.latency_ms) == (0.42, "low", 1.25)


def test_writer_connection_uses_synchronous_full_by_default(started) -> None:
    log = started()
    log.submit(make_record()).result(timeout=10)
    conn = log._writer.connection
    assert conn is not None
    with log._cond:  # the writer is idle and holds no transaction
        mode = conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            "PRAGMA synchronous").fetchone()[0]
        journal = conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            "PRAGMA journal_mode").fetchone()[0]
    assert (mode, journal) == (2, "wal")  # 2 = FULL


def test_append_awaits_the_commit_from_many_tasks(workspace: Workspace, started) -> None:
    log = started()
    records = [make_record() for _ in range(300)]

    async def main() -> None:
        await asyncio.gather(*(log.append(r) for r in records))

    asyncio.run(main())
    assert sorted(stored_ids(workspace.database_url)) == sorted(r.id for r in records)


def test_a_failed_commit_fails_every_future_of_its_batch(workspace: Workspace, started) -> None:
    log = started(max_delay=0.5)  # the two records below share one batch
    first = make_record()
    log.submit(first).result(timeout=10)
    duplicate, innocent = make_record(id=first.id), make_record()
    futures = [log.submit(duplicate), log.submit(innocent)]
    for future in futures:
        with pytest.raises(InferenceLogWriteFailed,
                           match=r"batch of 2 predictions .* did not commit .*IntegrityError"):
            future.result(timeout=10)
    assert stored_ids(workspace.database_url) == [first.id]
    # The writer reconnects and carries on with the next batch.
    later = make_record()
    log.submit(later).result(timeout=10)
    assert sorted(stored_ids(workspace.database_url)) == sorted([first.id, later.id])
    assert log.stats()["failed"] == 2


def test_a_failed_commit_fails_the_awaiting_task(started) -> None:
    log = started()
    record = make_record()
    log.submit(record).result(timeout=10)

    async def main() -> None:
        await log.append(make_record(id=record.id))

    with pytest.raises(InferenceLogWriteFailed, match="it was not recorded"):
        asyncio.run(main())


def _hold_sqlite_write_lock(database_url: str) -> sqlite3.Connection:
    blocker = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    return blocker


def _wait_until(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


def test_a_full_queue_refuses_records_instead_of_growing(workspace: Workspace, started) -> None:
    log = started(max_batch=1, max_queue=2, max_delay=0)
    blocker = _hold_sqlite_write_lock(workspace.database_url)
    try:
        in_flight = log.submit(make_record())
        _wait_until(lambda: log.stats()["queued"] == 0)  # the writer took it and waits
        queued = [log.submit(make_record()), log.submit(make_record())]
        refused = make_record()
        with pytest.raises(InferenceLogFull,
                           match=rf"2 predictions waiting .*max_queue=2.*{refused.id} was not"):
            log.submit(refused)
    finally:
        blocker.rollback()
        blocker.close()
    for future in [in_flight, *queued]:
        future.result(timeout=30)
    assert stored_count(workspace.database_url) == 3
    assert refused.id not in stored_ids(workspace.database_url)


def test_a_record_cancelled_before_the_writer_took_it_is_not_written(
    workspace: Workspace, started
) -> None:
    log = started(max_batch=1, max_delay=0)
    blocker = _hold_sqlite_write_lock(workspace.database_url)
    try:
        first = log.submit(make_record())
        _wait_until(lambda: log.stats()["queued"] == 0)
        assert first.cancel() is False  # already being committed
        withdrawn = make_record()
        assert log.submit(withdrawn).cancel() is True
    finally:
        blocker.rollback()
        blocker.close()
    first.result(timeout=30)
    log.close()
    assert stored_count(workspace.database_url) == 1
    assert withdrawn.id not in stored_ids(workspace.database_url)


def test_close_commits_everything_queued(workspace: Workspace) -> None:
    log = InferenceLog(workspace.database_url, max_delay=0.2)
    log.start()
    futures = [log.submit(make_record()) for _ in range(500)]
    assert log.close() is True
    assert all(f.done() and f.exception() is None for f in futures)
    assert stored_count(workspace.database_url) == 500
    assert not log.running


def test_submit_needs_a_running_log(workspace: Workspace) -> None:
    log = InferenceLog(workspace.database_url)
    with pytest.raises(InferenceLogClosed, match=r"not running \(start\(\) was not called"):
        log.submit(make_record())
    log.start()
    log.close()
    with pytest.raises(InferenceLogClosed, match="was not recorded"):
        log.submit(make_record())
    with pytest.raises(InferenceLogClosed, match="create a new one"):
        log.start()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_batch": 0}, "max_batch must be a positive integer, got 0"),
        ({"max_delay": -1}, "max_delay must be between 0 and 1 second"),
        ({"max_batch": 10, "max_queue": 5}, r"max_queue must be an integer of at least max_batch"),
        ({"sqlite_synchronous": "OFF"}, "sqlite_synchronous 'OFF' is not one of FULL"),
    ],
)
def test_options_are_checked(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InferenceLog("sqlite://", **options)  # type: ignore[arg-type]


def test_write_predictions_inserts_in_one_transaction(workspace: Workspace) -> None:
    records = [make_record() for _ in range(3)]
    assert write_predictions(workspace.database_url, records) == 3
    assert write_predictions(workspace.database_url, []) == 0
    with pytest.raises(Exception, match="UNIQUE"):
        write_predictions(workspace.database_url, [make_record(), records[0]])
    assert stored_count(workspace.database_url) == 3


# --- crash safety ------------------------------------------------------------------

_CRASH_CHILD = """
import sys, threading
from riskops.serving.inference_log import InferenceLog
sys.path.insert(0, sys.argv[2])
from serving_helpers_log import make_record

log = InferenceLog(sys.argv[1])
log.start()
out = threading.Lock()

def produce():
    while True:
        record = make_record()
        log.submit(record).result()
        with out:
            sys.stdout.write(record.id + "\\n")
            sys.stdout.flush()

for _ in range(8):
    threading.Thread(target=produce, daemon=True).start()
threading.Event().wait()
"""


@pytest.mark.slow
def test_every_acknowledged_record_survives_kill_9(workspace: Workspace) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CRASH_CHILD, workspace.database_url, str(Path(__file__).parent)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        acknowledged = []
        assert child.stdout is not None
        while len(acknowledged) < 400:
            line = child.stdout.readline()
            if not line:
                pytest.fail(f"the child stopped early: {child.stderr.read()}")  # type: ignore[union-attr]
            acknowledged.append(line)
        os.kill(child.pid, signal.SIGKILL)
        rest, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    lines = acknowledged + rest.splitlines(keepends=True)
    printed = [line.strip() for line in lines if line.endswith("\n")]
    db.dispose_engines()
    stored = set(stored_ids(workspace.database_url))
    missing = [pid for pid in printed if pid not in stored]
    assert len(printed) >= 400 and missing == []


# --- PostgreSQL --------------------------------------------------------------------


@pytest.mark.postgres
def test_group_commit_on_postgresql(postgres_url: str) -> None:
    db.migrate(postgres_url)
    log = InferenceLog(postgres_url, max_batch=100)
    log.start()
    try:
        submitted = _many_threads(log, threads=8, each=100)
        for _, future in submitted:
            future.result(timeout=30)
        duplicate = log.submit(make_record(id=submitted[0][0]))
        with pytest.raises(InferenceLogWriteFailed, match=r"UniqueViolation|IntegrityError"):
            duplicate.result(timeout=30)
        log.submit(make_record()).result(timeout=30)
    finally:
        log.close()
    ids = stored_ids(postgres_url)
    assert len(ids) == len(set(ids)) == 801
    assert {pid for pid, _ in submitted} <= set(ids)


def test_two_logs_on_one_sqlite_database_take_turns(workspace: Workspace) -> None:
    """Server processes each run a log; the writers' file lock serialises them."""
    logs = [InferenceLog(workspace.database_url, max_batch=16) for _ in range(2)]
    for log in logs:
        log.start()
    try:
        submitted = [item for log in logs for item in _many_threads(log, threads=4, each=100)]
        for _, future in submitted:
            future.result(timeout=30)
    finally:
        for log in logs:
            log.close()
    assert sorted(stored_ids(workspace.database_url)) == sorted(pid for pid, _ in submitted)
    assert Path(workspace.database_url.removeprefix("sqlite:///") + ".writers.lock").exists()


def test_submit_many_queues_all_records_or_none(workspace: Workspace) -> None:
    log = InferenceLog(workspace.database_url, max_batch=2, max_queue=3, max_delay=0)
    release = threading.Event()
    original = log._write

    def held_write(batch):  # the writer holds its first batch until released
        release.wait(10)
        original(batch)

    log._write = held_write  # type: ignore[method-assign]
    log.start()
    try:
        first = log.submit(make_record())
        time.sleep(0.2)  # the writer has taken it and is holding
        queued = log.submit_many([make_record(), make_record()])
        with pytest.raises(InferenceLogFull, match="the 2 predictions of this request"):
            log.submit_many([make_record(), make_record()])
        release.set()
        for future in [first, *queued]:
            future.result(timeout=10)
    finally:
        release.set()
        log.close()
    assert stored_count(workspace.database_url) == 3
