"""`riskops scheduler`: claim each due cron slot exactly once and run or queue it.

Every ``poll_seconds`` the scheduler takes, per scheduled job, the newest slot
at or before now. If it is newer than the newest slot any scheduler has
claimed for that job, it claims it by inserting the ``job_runs`` row
``(job, scheduled_for)``: inside one serialised write transaction it re-reads
the newest claimed slot, and the unique constraint on ``(job,
scheduled_for)`` backs that up, so with any number of schedulers on one
database exactly one wins each slot. Slots missed while no scheduler ran
collapse into one run: only the newest due slot is claimed. A job that has
never run on schedule runs once at the scheduler's first start (its newest
due slot counts as missed).

The winner runs the job in-process, or, with a broker configured (and not
``in_process``), records the run ``queued`` and publishes a trigger that a
``riskops worker`` picks up by its id.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from riskops.config import Workspace
from riskops.jobs import amqp
from riskops.jobs.runner import RunOutcome, execute, owner_id
from riskops.jobs.settings import (
    SchedulerSettings,
    WorkerSettings,
    load_scheduler_settings,
    load_worker_settings,
)
from riskops.storage import db, job_runs

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SlotResult:
    """What one scheduler did with one due slot: ``ran``, ``queued`` or ``lost``
    (another scheduler claimed it first)."""

    job: str
    scheduled_for: datetime
    action: str
    outcome: RunOutcome | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job, "scheduled_for": self.scheduled_for.isoformat(),
                "action": self.action,
                "outcome": None if self.outcome is None else self.outcome.as_dict()}


class Scheduler:
    """Claims and runs due slots of ``settings``' scheduled jobs; see the module docstring.

    ``clock`` returns the current aware time (tests pass a fixed one).
    """

    def __init__(self, ws: Workspace, settings: SchedulerSettings | None = None, *,
                 in_process: bool | None = None, clock: Clock = _utcnow,
                 worker_settings: WorkerSettings | None = None) -> None:
        self.ws = ws
        self.settings = settings or load_scheduler_settings(ws)
        self.clock = clock
        self.in_process = not ws.amqp_url if in_process is None else in_process
        self.worker_settings = None if self.in_process else (
            worker_settings or load_worker_settings(ws))
        self._stop = threading.Event()

    def due(self, now: datetime | None = None) -> list[tuple[str, datetime]]:
        """``(job, slot)`` for each job whose newest due slot is not claimed yet."""
        now = now or self.clock()
        found = []
        with db.read_session(self.ws.database_url) as session:
            for name, schedule in self.settings.scheduled.items():
                slot = schedule.latest_due(now)
                last = job_runs.last_scheduled_slot(session, name)
                if last is None or slot > last:
                    found.append((name, slot))
        return found

    def tick(self, now: datetime | None = None) -> list[SlotResult]:
        """Claim every due slot this scheduler can win and run or queue it."""
        results = []
        for name, slot in self.due(now):
            if self._stop.is_set():
                break
            results.append(self._take(name, slot))
        return results

    def _take(self, name: str, slot: datetime) -> SlotResult:
        trigger_id = None if self.in_process else str(uuid.uuid4())
        with db.write_transaction(self.ws.database_url) as session:
            last = job_runs.last_scheduled_slot(session, name)
            run_id = None
            if last is None or slot > last:
                run_id = job_runs.claim_slot(
                    session, job=name, scheduled_for=slot, owner=owner_id(),
                    now=self.clock(), metadata={},
                    status="running" if self.in_process else "queued", trigger_id=trigger_id)
        if run_id is None:
            log.info("slot %s of %s was claimed by another scheduler", slot.isoformat(), name)
            return SlotResult(name, slot, "lost")
        spec = self.settings.jobs[name].spec
        if trigger_id is not None and self.worker_settings is not None:
            try:
                amqp.publish_trigger(self.ws.amqp_url or "", self.worker_settings,
                                     amqp.trigger_envelope(name, {}, id=trigger_id,
                                                           source="riskops/scheduler"))
                log.info("queued %s for slot %s (trigger %s)", name, slot.isoformat(),
                         trigger_id)
                return SlotResult(name, slot, "queued")
            except amqp.BrokerUnavailable as exc:
                log.warning("could not queue %s (%s); running it in this process instead",
                            name, exc)
                with db.write_transaction(self.ws.database_url) as session:
                    job_runs.restart_run(session, run_id, owner=owner_id(), now=self.clock())
        log.info("running %s for slot %s", name, slot.isoformat())
        outcome = execute(self.ws, spec, run_id, {}, trigger="schedule", scheduled_for=slot)
        return SlotResult(name, slot, "ran", outcome)

    def reap_orphans(self) -> list[int]:
        """Mark failed the in-process runs of this host whose process no longer exists.

        Such a row stays ``running`` after a crash or ``kill -9``; its slot is
        not run again (a scheduled slot runs at most once), the next slot is.
        """
        host = socket.gethostname()
        reaped = []
        with db.write_transaction(self.ws.database_url) as session:
            for run in job_runs.running_without_trigger_id(session, f"{host}:"):
                pid_text = run.owner.rsplit(":", 1)[-1]
                if not pid_text.isdigit() or int(pid_text) == os.getpid() \
                        or _alive(int(pid_text)):
                    continue
                job_runs.finish_run(session, run.id, status="failed", now=self.clock(),
                                    error=f"its process {run.owner} exited before the run "
                                          "finished (killed or crashed)")
                reaped.append(run.id)
        return reaped

    def stop(self) -> None:
        self._stop.set()

    def run_forever(self, *, poll_seconds: float | None = None,
                    install_signals: bool = True,
                    on_tick: Callable[[list[SlotResult]], None] | None = None) -> None:
        """Tick every ``poll_seconds`` until SIGTERM, SIGINT or ``stop()``.

        A signal lets the job that is running finish first. A tick that fails
        (database unreachable, ...) is logged and retried at the next poll.
        """
        poll = self.settings.poll_seconds if poll_seconds is None else poll_seconds
        previous: dict[int, Any] = {}
        if install_signals and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, self._on_signal)
        try:
            self.reap_orphans()
            while not self._stop.is_set():
                try:
                    results = self.tick()
                    if on_tick is not None:
                        on_tick(results)
                except Exception as exc:  # keep scheduling; the next poll retries
                    log.error("scheduler tick failed: %s: %s", type(exc).__name__, exc)
                self._stop.wait(poll)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._stop.is_set():
            raise KeyboardInterrupt
        log.warning("received %s: stopping after the current job",
                    signal.Signals(signum).name)
        self._stop.set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def overview(ws: Workspace, settings: SchedulerSettings | None = None,
             now: datetime | None = None) -> list[dict[str, Any]]:
    """Every job: description, schedule and its source, next slot, newest run."""
    settings = settings or load_scheduler_settings(ws)
    now = now or datetime.now(UTC)
    names = sorted(settings.jobs)
    with db.read_session(ws.database_url) as session:
        latest = job_runs.latest_runs(session, names)
    rows = []
    for name in names:
        config = settings.jobs[name]
        schedule = config.schedule
        run = latest.get(name)
        rows.append({
            "job": name,
            "description": config.spec.description,
            "target": config.spec.target,
            "schedule": None if schedule is None else schedule.expression,
            "timezone": None if schedule is None else schedule.timezone,
            "schedule_source": config.source,
            "next_run": None if schedule is None else schedule.next_after(now).isoformat(),
            "last_run": None if run is None else run.as_dict(),
        })
    return rows
