"""The scheduler: exactly one run per due slot across schedulers, missed runs once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from jobs_helpers import HERE, Clock, calls_for, scheduled_ws, utc
from prometheus_client import REGISTRY
from sqlalchemy import select

from riskops.config import Workspace
from riskops.jobs.scheduler import Scheduler, overview
from riskops.storage import db, job_runs
from riskops.storage.tables import JobRunRow, OutboxEventRow


def runs(ws: Workspace, job: str) -> list[JobRunRow]:
    with db.read_session(ws.database_url) as session:
        return list(session.scalars(select(JobRunRow).where(JobRunRow.job == job)
                                    .order_by(JobRunRow.id)))


def test_missed_slots_after_downtime_run_once(workspace: Workspace) -> None:
    ws = scheduled_ws(workspace, record="0 * * * *")
    clock = Clock(utc(2026, 3, 2, 10, 30))
    scheduler = Scheduler(ws, clock=clock, in_process=True)
    first = scheduler.tick()
    assert [(r.job, r.scheduled_for, r.action) for r in first] == [
        ("record", utc(2026, 3, 2, 10), "ran")]
    assert scheduler.tick() == []  # same slot: nothing more
    clock.set(utc(2026, 3, 2, 15, 45))  # down from 10:30 to 15:45: 11:00 .. 15:00 missed
    after = scheduler.tick()
    assert [(r.scheduled_for, r.outcome.status) for r in after if r.outcome] == [
        (utc(2026, 3, 2, 15), "succeeded")]
    assert scheduler.tick() == []
    assert [r.scheduled_for for r in runs(ws, "record")] == [utc(2026, 3, 2, 10),
                                                             utc(2026, 3, 2, 15)]
    assert len(calls_for(ws)) == 2


def test_run_is_recorded_with_owner_result_and_metrics(workspace: Workspace) -> None:
    ws = scheduled_ws(workspace, record="*/5 * * * *")
    before = REGISTRY.get_sample_value("batch_job_triggers_total", {"batch_job": "record"}) or 0
    count = REGISTRY.get_sample_value("batch_job_duration_seconds_count",
                                      {"job_name": "record"}) or 0
    Scheduler(ws, clock=Clock(utc(2026, 3, 2, 10, 7)), in_process=True).tick()
    (row,) = runs(ws, "record")
    assert (row.status, row.trigger, row.attempts) == ("succeeded", "schedule", 1)
    assert row.owner.endswith(f":{os.getpid()}") and row.finished_at is not None
    assert json.loads(row.result or "") == {"echo": {}}
    assert REGISTRY.get_sample_value("batch_job_triggers_total",
                                     {"batch_job": "record"}) == before + 1
    assert REGISTRY.get_sample_value("batch_job_duration_seconds_count",
                                     {"job_name": "record"}) == count + 1


def test_failed_run_records_error_and_emits_workflow_job_failed(workspace: Workspace) -> None:
    ws = scheduled_ws(workspace, fail="0 3 * * *")
    (result,) = Scheduler(ws, clock=Clock(utc(2026, 3, 2, 4)), in_process=True).tick()
    assert result.outcome is not None and result.outcome.status == "failed"
    (row,) = runs(ws, "fail")
    assert row.status == "failed"
    assert row.error == "RuntimeError: disk full while exporting everything"
    with db.read_session(ws.database_url) as session:
        events = [json.loads(e.envelope) for e in session.scalars(
            select(OutboxEventRow).where(OutboxEventRow.type == "workflow.job.failed"))]
    assert [e["data"] for e in events] == [{
        "job": "fail", "error": "RuntimeError: disk full while exporting everything",
        "metadata": {}, "runId": row.id, "trigger": "schedule"}]


def _race(ws: Workspace, schedulers: int, minutes: int) -> None:
    """``schedulers`` threads tick together at each of ``minutes`` successive minutes."""
    clock = Clock(utc(2026, 3, 2, 9, 0, 30))
    instances = [Scheduler(ws, clock=clock, in_process=True) for _ in range(schedulers)]
    barrier = threading.Barrier(schedulers)
    errors: list[BaseException] = []

    def loop(scheduler: Scheduler, leader: bool) -> None:
        try:
            for _ in range(minutes):
                barrier.wait()
                scheduler.tick()
                barrier.wait()
                if leader:
                    clock.advance(minutes=1)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=loop, args=(s, i == 0)) for i, s in enumerate(instances)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def test_two_schedulers_on_sqlite_run_each_slot_once(workspace: Workspace) -> None:
    ws = scheduled_ws(workspace, record="* * * * *")
    _race(ws, schedulers=2, minutes=8)
    slots = [r.scheduled_for for r in runs(ws, "record")]
    assert slots == [utc(2026, 3, 2, 9, m) for m in range(8)]
    assert len(calls_for(ws)) == 8


@pytest.mark.postgres
def test_three_schedulers_on_postgres_run_each_slot_once(pg_workspace: Workspace) -> None:
    ws = scheduled_ws(pg_workspace, record="* * * * *")
    _race(ws, schedulers=3, minutes=10)
    slots = [r.scheduled_for for r in runs(ws, "record")]
    assert slots == [utc(2026, 3, 2, 9, m) for m in range(10)]
    assert len(calls_for(ws)) == 10


@pytest.mark.postgres
@pytest.mark.slow
def test_scheduler_processes_on_postgres_run_the_due_slot_once(pg_workspace: Workspace) -> None:
    ws = scheduled_ws(pg_workspace, record="0 0 1 1 *")  # newest due slot: 1 Jan 00:00
    env = {**os.environ, "PYTHONPATH": str(HERE), "RISKOPS_HOME": str(ws.home)}
    riskops = str(Path(sys.executable).parent / "riskops")
    procs = [subprocess.Popen([riskops, "scheduler", "--once", "--json"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    actions = [r["action"] for out, _ in outputs for r in json.loads(out)]
    assert sorted(actions) == ["lost"] * actions.count("lost") + ["ran"]
    (row,) = runs(ws, "record")
    assert row.status == "succeeded" and row.scheduled_for is not None
    assert row.scheduled_for.month == 1 and row.scheduled_for.day == 1


def test_orphaned_in_process_run_is_marked_failed(workspace: Workspace) -> None:
    import socket
    from datetime import UTC, datetime

    ws = scheduled_ws(workspace)
    with db.write_transaction(ws.database_url) as session:
        run_id = job_runs.claim_slot(session, job="record", scheduled_for=utc(2026, 1, 1),
                                     owner=f"{socket.gethostname()}:999999999",
                                     now=datetime.now(UTC), metadata={})
    assert Scheduler(ws, in_process=True).reap_orphans() == [run_id]
    (row,) = runs(ws, "record")
    assert row.status == "failed" and "exited before the run finished" in (row.error or "")


def test_overview_lists_schedule_next_and_last_run(workspace: Workspace) -> None:
    ws = scheduled_ws(workspace, record="0 6 * * 0")
    Scheduler(ws, clock=Clock(utc(2026, 3, 2, 10)), in_process=True).tick()
    rows = {r["job"]: r for r in overview(ws, now=utc(2026, 3, 2, 10))}
    assert rows["record"]["schedule"] == "0 6 * * 0"
    assert rows["record"]["next_run"] == "2026-03-08T06:00:00+00:00"
    assert rows["record"]["last_run"]["status"] == "succeeded"
    assert rows["model-monitoring"]["schedule"] is None
