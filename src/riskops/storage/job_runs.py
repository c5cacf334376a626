"""Queries on ``job_runs``: claim a scheduled slot, start, take over and finish runs.

Every function takes the caller's session; the caller owns the transaction
(``db.write_transaction``). A claim that loses the race raises nothing here:
``claim_slot`` returns ``None`` after the unique constraint said no.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskops.storage.tables import JobRunRow

STATUSES = ("queued", "running", "succeeded", "failed")
FINISHED = ("succeeded", "failed")


@dataclass(frozen=True)
class RunRecord:
    """A ``job_runs`` row as plain values."""

    id: int
    job: str
    trigger: str
    trigger_id: str | None
    scheduled_for: datetime | None
    status: str
    attempts: int
    owner: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    result: dict[str, Any] | None
    metadata: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "job": self.job, "trigger": self.trigger,
            "trigger_id": self.trigger_id,
            "scheduled_for": _iso(self.scheduled_for), "status": self.status,
            "attempts": self.attempts, "owner": self.owner,
            "started_at": _iso(self.started_at), "finished_at": _iso(self.finished_at),
            "error": self.error, "result": self.result, "metadata": self.metadata,
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _record(row: JobRunRow) -> RunRecord:
    return RunRecord(
        id=row.id, job=row.job, trigger=row.trigger, trigger_id=row.trigger_id,
        scheduled_for=row.scheduled_for, status=row.status, attempts=row.attempts,
        owner=row.owner, started_at=row.started_at, finished_at=row.finished_at,
        error=row.error, result=None if row.result is None else json.loads(row.result),
        metadata=json.loads(row.metadata_json or "{}"),
    )


def claim_slot(
    session: Session, *, job: str, scheduled_for: datetime, owner: str, now: datetime,
    metadata: dict[str, Any], status: str = "running", trigger_id: str | None = None,
) -> int | None:
    """Insert the run of ``job`` at ``scheduled_for``; its id, or ``None`` if already claimed.

    The (job, scheduled_for) unique constraint decides between concurrent
    schedulers on SQLite and PostgreSQL alike; the loser's insert is undone
    with a savepoint so the caller's transaction stays usable.
    """
    row = JobRunRow(job=job, scheduled_for=scheduled_for, trigger="schedule",
                    trigger_id=trigger_id, status=status, attempts=1 if status == "running"
                    else 0, owner=owner, started_at=now, metadata_json=_dumps(metadata))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row.id


def start_run(
    session: Session, *, job: str, trigger: str, owner: str, now: datetime,
    metadata: dict[str, Any], trigger_id: str | None = None,
) -> int | None:
    """Insert a running manual or message run; ``None`` if ``trigger_id`` already has a run."""
    row = JobRunRow(job=job, scheduled_for=None, trigger=trigger, trigger_id=trigger_id,
                    status="running", attempts=1, owner=owner, started_at=now,
                    metadata_json=_dumps(metadata))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row.id


def run_by_trigger_id(session: Session, trigger_id: str) -> RunRecord | None:
    row = session.scalars(select(JobRunRow).where(JobRunRow.trigger_id == trigger_id)).first()
    return None if row is None else _record(row)


def restart_run(session: Session, run_id: int, *, owner: str, now: datetime) -> int:
    """Mark a queued or orphaned run running again under ``owner``; its new attempt count."""
    row = session.get_one(JobRunRow, run_id, with_for_update=True)
    row.status = "running"
    row.owner = owner
    row.started_at = now
    row.finished_at = None
    row.error = None
    row.attempts = (row.attempts or 0) + 1
    session.flush()
    return row.attempts


def finish_run(
    session: Session, run_id: int, *, status: str, now: datetime, error: str | None = None,
    result: dict[str, Any] | None = None,
) -> None:
    """Record the end of a run: ``succeeded`` with its result or ``failed`` with the error."""
    if status not in FINISHED:
        raise ValueError(f"finish status must be one of {', '.join(FINISHED)}, not {status!r}")
    row = session.get_one(JobRunRow, run_id)
    row.status = status
    row.finished_at = now
    row.error = error
    row.result = None if result is None else _dumps(result)
    session.flush()


def last_scheduled_slot(session: Session, job: str) -> datetime | None:
    """The newest slot of ``job`` any scheduler has claimed, whatever its status."""
    return session.scalar(
        select(func.max(JobRunRow.scheduled_for)).where(JobRunRow.job == job))


def latest_runs(session: Session, jobs: list[str]) -> dict[str, RunRecord]:
    """The newest run (by start time, then id) of each job in ``jobs`` that has one."""
    newest: dict[str, RunRecord] = {}
    for job in jobs:
        row = session.scalars(
            select(JobRunRow).where(JobRunRow.job == job)
            .order_by(JobRunRow.started_at.desc(), JobRunRow.id.desc()).limit(1)
        ).first()
        if row is not None:
            newest[job] = _record(row)
    return newest


def list_runs(session: Session, *, job: str | None = None, limit: int = 50) -> list[RunRecord]:
    """The newest runs, newest first, optionally of one job."""
    query = select(JobRunRow).order_by(JobRunRow.started_at.desc(), JobRunRow.id.desc())
    if job is not None:
        query = query.where(JobRunRow.job == job)
    return [_record(r) for r in session.scalars(query.limit(limit))]


def get_run(session: Session, run_id: int) -> RunRecord | None:
    row = session.get(JobRunRow, run_id)
    return None if row is None else _record(row)


def running_without_trigger_id(session: Session, owner_prefix: str) -> list[RunRecord]:
    """In-process runs still ``running`` whose owner starts with ``owner_prefix`` (host:)."""
    rows = session.scalars(select(JobRunRow).where(
        JobRunRow.status == "running", JobRunRow.trigger_id.is_(None),
        JobRunRow.owner.startswith(owner_prefix, autoescape=True)))
    return [_record(r) for r in rows]


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, default=str)
